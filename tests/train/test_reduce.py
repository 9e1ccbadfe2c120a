"""Tests for src/groklab/train/reduce.py: sums that do not follow the thread count."""

import math

import pytest
import torch

from groklab.train.reduce import CHUNK, fixed_mean, fixed_norm, fixed_sum


@pytest.fixture
def threads():
    """Set torch's thread count inside a test; restored afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def at_thread_counts(threads, fn, counts=(1, 2, 3, 4)):
    out = []
    for n in counts:
        threads(n)
        out.append(fn())
    return out


def test_torch_sum_of_one_long_row_follows_the_thread_count(threads):
    # The cause: one output of >= 32,768 elements is split over threads (ATen's two-pass sum).
    x = torch.randn(1, 200_000, generator=torch.Generator().manual_seed(0))
    sums = at_thread_counts(threads, lambda: x.sum(1))
    assert not all(torch.equal(sums[0], s) for s in sums[1:])


@pytest.mark.parametrize(
    ("shape", "dim"), [((1, 200_000), 1), ((200_000,), 0), ((3, 70_001), 1), ((50_000, 1), 0)]
)
def test_fixed_sum_is_the_same_bits_at_1_to_4_threads(threads, shape, dim):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    for fn in (fixed_sum, fixed_norm, fixed_mean):
        results = at_thread_counts(threads, lambda fn=fn: fn(x, dim))
        assert all(torch.equal(results[0], r) for r in results[1:]), fn.__name__


def test_fixed_sum_equals_an_exact_sum_to_float32_rounding():
    x = torch.randn(2, 2 * CHUNK + 17, generator=torch.Generator().manual_seed(2))
    exact = torch.tensor([math.fsum(row.tolist()) for row in x.double()], dtype=torch.float64)
    torch.testing.assert_close(fixed_sum(x, 1).double(), exact, rtol=1e-5, atol=1e-3)
    assert fixed_sum(x, 1, keepdim=True).shape == (2, 1)
    norms = torch.tensor(
        [math.sqrt(math.fsum(v * v for v in row.tolist())) for row in x.double()],
        dtype=torch.float64,
    )
    torch.testing.assert_close(fixed_norm(x, 1).double(), norms, rtol=1e-5, atol=1e-4)
    assert fixed_sum(torch.ones(1, 10_000), 1).item() == 10_000.0


def test_fixed_sum_of_a_short_row_is_torch_sum():
    x = torch.randn(4, CHUNK, generator=torch.Generator().manual_seed(3))
    assert torch.equal(fixed_sum(x, 1), x.sum(1))
    assert torch.equal(fixed_sum(x.double(), 0), x.double().sum(0))
