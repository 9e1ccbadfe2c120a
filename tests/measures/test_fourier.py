"""groklab.measures.fourier on hand-built inputs, checked against plain formulas."""

import math

import pytest
import torch

from groklab.loader import build_member, member_task
from groklab.measures import MEASURES
from groklab.measures.fourier import (
    circuit_losses,
    excluded_logits,
    fourier_basis,
    frequency_norms,
    gini,
    key_frequencies,
    model_key_frequencies,
    neuron_frequency_fractions,
    restricted_excluded,
    restricted_logits,
    sum_directions,
)
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.train.state import make_task


def wave(p: int, k: int, kind: str) -> torch.Tensor:
    x = torch.arange(p, dtype=torch.float64)
    return (torch.cos if kind == "cos" else torch.sin)(2 * math.pi * k * x / p)


@pytest.mark.parametrize("p", [7, 8, 13])
def test_fourier_basis_is_orthonormal_and_its_rows_are_the_waves_in_order(p):
    basis = fourier_basis(p)
    torch.testing.assert_close(basis @ basis.T, torch.eye(p, dtype=torch.float64))
    row = 1
    for k in range(1, p // 2 + 1):
        kinds = ["cos"] if 2 * k == p else ["cos", "sin"]
        for kind in kinds:
            w = wave(p, k, kind)
            torch.testing.assert_close(basis[row], w / w.norm())
            row += 1
    assert row == p


def test_an_embedding_of_one_pure_frequency_has_all_its_norm_there():
    p, k = 11, 3
    mix = torch.randn(2, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = torch.stack([wave(p, k, "cos"), wave(p, k, "sin")], 1) @ mix  # [p, 5]
    norms = frequency_norms(w)
    assert norms.shape == (p // 2 + 1,)
    torch.testing.assert_close(norms[k], w.norm())
    others = torch.cat([norms[:k], norms[k + 1 :]])
    assert others.abs().max() < 1e-12


def test_frequency_norms_split_the_frobenius_norm_and_batch_over_leading_axes():
    w = torch.randn(3, 9, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    norms = frequency_norms(w)  # [3, 5]
    torch.testing.assert_close(norms.pow(2).sum(-1), w.pow(2).sum((-2, -1)))
    torch.testing.assert_close(norms[1], frequency_norms(w[1]))


def plain_gini(values: list[float]) -> float:
    """Mean absolute difference over twice the mean, by a double loop."""
    n = len(values)
    total = sum(abs(a - b) for a in values for b in values)
    return total / (2 * n * n * (sum(values) / n))


def test_gini_of_equal_values_is_0_of_one_nonzero_is_n_minus_1_over_n_else_the_formula():
    assert gini(torch.full((6,), 2.5)).item() == pytest.approx(0.0)
    assert gini(torch.tensor([0.0, 0.0, 4.0, 0.0])).item() == pytest.approx(3 / 4)
    x = torch.rand(2, 7, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    got = gini(x)
    assert got.shape == (2,)
    for row in range(2):
        assert got[row].item() == pytest.approx(plain_gini(x[row].tolist()))


def grid_of(fn, p: int) -> torch.Tensor:
    x = torch.arange(p, dtype=torch.float64)[:, None].expand(p, p)
    y = torch.arange(p, dtype=torch.float64)[None, :].expand(p, p)
    return fn(x, y)


def test_neuron_fractions_put_a_product_or_sum_of_one_frequency_wholly_in_its_block():
    p = 13
    w = 2 * math.pi / p
    neurons = [
        lambda x, y: torch.cos(w * 3 * x) * torch.cos(w * 3 * y) + 5.0,  # all in k=3
        lambda x, y: torch.cos(w * 2 * (x + y)),  # all in k=2
        lambda x, y: torch.cos(w * 1 * x) + torch.sin(w * 4 * y),  # half k=1, half k=4
        lambda x, y: torch.sin(w * 6 * x) * torch.cos(w * 5 * y),  # mixes 6 and 5: neither
    ]
    acts = torch.stack([grid_of(f, p) for f in neurons], -1)  # [p, p, 4]
    frac = neuron_frequency_fractions(acts)
    assert frac.shape == (4, p // 2)
    torch.testing.assert_close(frac[0, 2], torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(frac[1, 1], torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(frac[2, [0, 3]], torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert frac[3].max() < 1e-12
    assert key_frequencies(frac, explained=0.9, min_share=0.0) == [2, 3]
    assert key_frequencies(frac, explained=0.4, min_share=0.0) == [1, 2, 3]
    assert key_frequencies(frac, explained=0.9, min_share=0.5) == []  # 1 of 4 is < 2 neurons


def test_restricted_keeps_and_excluded_removes_the_key_frequency_terms_of_the_logits():
    p = 11
    x = torch.arange(p).repeat_interleave(p)
    y = torch.arange(p).repeat(p)
    z = torch.arange(p, dtype=torch.float64)
    s = (x + y).double()[:, None]
    w = 2 * math.pi / p
    f3 = torch.cos(w * 3 * (s - z))  # [N, p] the circuit's logits at frequency 3
    f5 = 0.7 * torch.sin(w * 5 * (s - z))  # another frequency's
    bias = torch.linspace(-1, 1, p, dtype=torch.float64)  # a per-class constant
    logits = f3 + f5 + bias
    directions = sum_directions(x, y, p, [3])
    torch.testing.assert_close(restricted_logits(logits, directions), f3 + bias)
    torch.testing.assert_close(excluded_logits(logits, directions), f5 + bias)
    both = sum_directions(x, y, p, [3, 5])
    torch.testing.assert_close(excluded_logits(logits, both), bias.expand(p * p, p))


@pytest.mark.parametrize("p, k1, k2", [(11, 3, 5), (13, 1, 6)])
def test_restricted_and_excluded_loss_of_a_hand_built_logit_table_equal_their_closed_form(
    p, k1, k2
):
    # logits A cos(w k1 (x + y - z)) + B cos(w k2 (x + y - z)) over every (x, y): with k1 the key
    # frequency, restricted keeps the first term and excluded the second. A term's loss at the
    # answer z = x + y is the same for every example: -A + log sum_j exp(A cos(2 pi j / p))
    # (k1 * j runs over every residue), and a zero logit table scores log p.
    x = torch.arange(p).repeat_interleave(p)
    y = torch.arange(p).repeat(p)
    z = torch.arange(p, dtype=torch.float64)
    s = (x + y).double()[:, None]
    a, b, w = 2.0, 0.5, 2 * math.pi / p
    logits = a * torch.cos(w * k1 * (s - z)) + b * torch.cos(w * k2 * (s - z))
    targets = (x + y) % p
    train = torch.arange(p * p) % 3 == 0  # any split: every example scores the same
    test = ~train

    def closed(amplitude: float) -> float:
        return -amplitude + math.log(sum(math.exp(amplitude * math.cos(w * j)) for j in range(p)))

    args = (x, y, p)
    got = circuit_losses(logits, *args, [k1], train, test, targets)
    assert got["restricted_loss"] == pytest.approx(closed(a), rel=1e-12)
    assert got["excluded_loss"] == pytest.approx(closed(b), rel=1e-12)
    both = circuit_losses(logits, *args, [k1, k2], train, test, targets)
    assert both["excluded_loss"] == pytest.approx(math.log(p), rel=1e-12)  # nothing left
    none = circuit_losses(logits, *args, [], train, test, targets)
    assert none["restricted_loss"] == pytest.approx(math.log(p), rel=1e-12)  # class means: 0
    assert none["excluded_loss"] == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits[train], targets[train])), rel=1e-12
    )


def tiny_member(layout: str = "x_y_eq", op: str = "add", p: int = 7, weights_seed: int = 4):
    spec = RunSpec(
        data=DataSpec(op=op, p=p, layout=layout),
        model=ModelSpec(
            **{**PRESETS["nanda2023"].__dict__, "d_model": 16, "n_heads": 2, "d_mlp": 32}
        ),  # fmt: skip
        train=TrainSpec(steps=1),
        members=members_from(seed=[3], train_fraction=0.5),
    )
    task = make_task(spec, torch.device("cpu"))
    from groklab.loader import build_template

    n = sum(q.numel() for q in build_template(spec, task).parameters())
    row = torch.randn(n, generator=torch.Generator().manual_seed(weights_seed)) * 0.3
    model = build_member(spec, task, row)
    return model, member_task(task, spec, spec.run_id, 0, 0)


@pytest.mark.parametrize("layout", ["x_y_eq", "x_op_y_eq"])
def test_with_no_key_frequency_restricted_is_the_mean_logit_and_excluded_the_train_loss(layout):
    model, task = tiny_member(layout)
    out = restricted_excluded(model, task, keys=[])
    with torch.no_grad():
        logits = model(task.inputs).double()
    mean = logits.mean(0, keepdim=True).expand_as(logits)
    test = task.val_mask
    expected = torch.nn.functional.cross_entropy(mean[test], task.targets[test])
    assert out["restricted_loss"] == pytest.approx(float(expected), rel=1e-9)
    assert out["excluded_loss"] == pytest.approx(task.evaluate(model)["train_loss"], rel=1e-5)


def test_registered_measures_name_their_values_and_agree_with_plain_sums():
    model, task = tiny_member()
    embed = MEASURES["fourier_embed"].fn(model, task)
    assert sorted(embed) == [f"fourier/embed/{k}" for k in range(4)]
    squared = sum(v**2 for v in embed.values())
    assert squared == pytest.approx(float(model.W_E.detach()[:7].double().pow(2).sum()), rel=1e-9)
    g = MEASURES["gini"].fn(model, task)
    plain = sum(float(q.detach().double().pow(2).sum()) for q in model.parameters())
    assert g["sum_sq_weights"] == pytest.approx(plain, rel=1e-12)
    assert 0.0 <= g["gini/W_E"] < 1.0 and 0.0 <= g["gini/W_L"] < 1.0
    keys = MEASURES["key_frequencies"].fn(model, task)
    assert sorted(keys) == sorted([f"fourier/neurons/{k}" for k in (1, 2, 3)] + ["fourier/n_key"])
    assert sum(keys[f"fourier/neurons/{k}"] for k in (1, 2, 3)) <= 1.0
    steps = MEASURES["restricted_loss_step_keys"].fn(model, task)
    assert steps == {f"{k}_step_keys": v for k, v in restricted_excluded(model, task).items()}


def test_measures_apply_to_the_tasks_they_are_defined_for():
    add = RunSpec(data=DataSpec(op="add", p=7))
    div = RunSpec(data=DataSpec(op="div", p=7))
    s5 = RunSpec(data=DataSpec(op="s5_mul"))
    assert MEASURES["restricted_loss"].applies(add)
    assert not MEASURES["restricted_loss"].applies(div)
    # x / y is read in the multiplicative group's basis (test_groups.py), not Z_p's
    assert MEASURES["fourier_embed_mul"].applies(div)
    assert not MEASURES["fourier_embed"].applies(div) and not MEASURES["gini"].applies(div)
    assert not MEASURES["key_frequencies"].applies(div)  # x / 0 is undefined: no full grid
    assert not any(MEASURES[n].applies(s5) for n in ("fourier_embed", "gini", "restricted_loss"))


def test_the_papers_restricted_loss_reads_the_final_models_key_frequencies():
    model, task = tiny_member(p=13)
    final, _ = tiny_member(p=13, weights_seed=9)  # the same member later: other weights
    info = MEASURES["restricted_loss"]  # the default is the paper's definition
    assert info.final and not info.cheap  # the final state exists only after training
    keys = model_key_frequencies(final, task)
    assert keys != model_key_frequencies(model, task)  # so the two definitions differ here
    got = info.fn(model, task, final)
    expected = restricted_excluded(model, task, keys)
    assert got == {
        "restricted_loss_final_keys": expected["restricted_loss"],
        "excluded_loss_final_keys": expected["excluded_loss"],
    }
    assert info.fn(model, task, model) == {
        f"{k}_final_keys": v for k, v in restricted_excluded(model, task).items()
    }  # at the final step itself the two agree
