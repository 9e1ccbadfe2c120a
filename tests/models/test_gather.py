"""Tests for src/groklab/models/gather.py: the sum of gathered rows against a plain sum of
gathers, for one member and under vmap (members' tables stacked, rows shared or their own), to
the bit in values and gradients where the columns gather disjoint rows."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import vmap

from groklab.models.gather import sum_rows


def grads_of(fn, *tensors, seed=1):
    """fn's output and the gradients of a fixed random cotangent's dot product with it."""
    tensors = [t.detach().requires_grad_() for t in tensors]
    out = fn(*tensors)
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    out.backward(cotangent.to(out.dtype))
    return out.detach(), [t.grad for t in tensors]


def assert_bitwise(got, want) -> None:
    (out, grads), (want_out, want_grads) = got, want
    assert torch.equal(out, want_out)
    for g, w in zip(grads, want_grads, strict=True):
        assert torch.equal(g, w)


def plain_sum_rows(table, rows, bias):
    """sum_j table[rows[:, j]] + bias, one gather per column, left to right."""
    out = table[rows[:, 0]]
    for j in range(1, rows.shape[1]):
        out = out + table[rows[:, j]]
    return out if bias is None else out + bias


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sum_rows_equals_a_plain_sum_of_gathers(dtype, bias):
    """Columns that gather disjoint rows (the one-hot layer's x and n + y): the same bits."""
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(12, 7, generator=gen).to(dtype)
    b = torch.randn(7, generator=gen).to(dtype)
    rows = torch.stack(
        [torch.randint(0, 6, (50,), generator=gen), torch.randint(6, 12, (50,), generator=gen)], 1
    )
    tensors = (table, b) if bias else (table,)
    got = grads_of(lambda t, *bb: sum_rows(t, rows, *bb), *tensors)
    want = grads_of(lambda t, *bb: plain_sum_rows(t, rows, bb[0] if bb else None), *tensors)
    assert_bitwise(got, want)


def test_sum_rows_over_columns_that_share_rows_equals_a_plain_sum_to_round_off():
    """Where the columns gather the same rows, each row's gradient is summed column by column
    (the plain backward sums it example by example): equal to round-off."""
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(5, 7, generator=gen)
    rows = torch.randint(0, 5, (60, 3), generator=gen)
    got = grads_of(lambda t: sum_rows(t, rows), table)
    want = grads_of(lambda t: plain_sum_rows(t, rows, None), table)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=0)
    torch.testing.assert_close(got[1][0], want[1][0])


@pytest.mark.parametrize("shared", ["rows", "table", "none"])
def test_sum_rows_under_vmap_equals_each_member(shared):
    """Members' tables stacked with the rows shared (a population on one batch), one table
    for all with each member's own rows, or neither."""
    gen = torch.Generator().manual_seed(0)
    m = 3
    tables = torch.randn(m, 12, 7, generator=gen)
    biases = torch.randn(m, 7, generator=gen)
    # 3 columns over disjoint rows, as the one-hot layer's; rows repeat within a column
    rows = torch.randint(0, 4, (m, 25, 3), generator=gen) + torch.tensor([0, 4, 8])
    table_dim = None if shared == "table" else 0
    rows_dim = None if shared == "rows" else 0

    def population(t, b):
        args = (t[0] if table_dim is None else t), (rows[0] if rows_dim is None else rows)
        return vmap(sum_rows, (table_dim, rows_dim, 0))(*args, b)

    def each(t, b):
        return torch.stack(
            [
                plain_sum_rows(
                    t[0 if table_dim is None else i], rows[0 if rows_dim is None else i], b[i]
                )
                for i in range(m)
            ]
        )

    got, want = grads_of(population, tables, biases), grads_of(each, tables, biases)
    if table_dim is None:  # the shared table's gradient sums the members' in another order
        assert torch.equal(got[0], want[0])
        for g, w in zip(got[1], want[1], strict=True):
            torch.testing.assert_close(g, w)
    else:
        assert_bitwise(got, want)


def test_sum_rows_in_bf16_sums_gradients_no_worse_than_the_embedding_kernel():
    """In bf16 (a table that is bf16 itself; autocast keeps the parameters in float32) the
    gradients differ: against a float64 sum, the index-add's error is at most the embedding
    kernel's backward's."""
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(18, 64, generator=gen).to(torch.bfloat16)
    rows = torch.randint(0, 9, (4000, 2), generator=gen) + torch.tensor([0, 9])
    out, (grad,) = grads_of(lambda t: sum_rows(t, rows), table)
    want_out, (want_grad,) = grads_of(
        lambda t: F.embedding(rows[:, 0], t) + F.embedding(rows[:, 1], t), table
    )
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(out.dtype)
    exact = torch.zeros(18, 64, dtype=torch.float64)
    for j in range(2):
        exact.index_add_(0, rows[:, j], cotangent.double())
    error, kernel_error = ((g.double() - exact).abs().max() for g in (grad, want_grad))
    assert error <= kernel_error and error < 0.01 * exact.abs().max()
    # the forward's sum of two bf16 rows is rounded once either way, ties perhaps otherwise
    exact_out = table.double()[rows[:, 0]] + table.double()[rows[:, 1]]
    out_error, plain_error = ((o.double() - exact_out).abs().max() for o in (out, want_out))
    assert out_error <= plain_error


def test_sum_rows_keeps_its_bits_at_one_and_two_threads():
    gen = torch.Generator().manual_seed(0)
    tables = torch.randn(2, 300, 64, generator=gen)
    rows = torch.randint(0, 150, (4000, 2), generator=gen) + torch.tensor([0, 150])
    results = []
    for threads in (1, 2):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            results.append(grads_of(lambda t: vmap(sum_rows, (0, None))(t, rows), tables))
        finally:
            torch.set_num_threads(before)
    assert_bitwise(*results)


def test_sum_rows_output_may_be_modified_in_place_under_vmap():
    """ReLU in place on the layer's output (models/mlp.py act_fresh) keeps the right gradient."""
    gen = torch.Generator().manual_seed(0)
    tables = torch.randn(3, 10, 4, generator=gen)
    rows = torch.randint(0, 5, (20, 2), generator=gen) + torch.tensor([0, 5])
    got = grads_of(lambda t: vmap(lambda tt: torch.relu_(sum_rows(tt, rows)))(t), tables)
    want = grads_of(
        lambda t: torch.stack([plain_sum_rows(x, rows, None).relu() for x in t]), tables
    )
    assert_bitwise(got, want)
