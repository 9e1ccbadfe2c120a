"""Tests for src/groklab/train/transforms.py: each gradient transform against a plain per-model
implementation, the chain's order, resume with every transform on, and the spec's checks."""

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch

from groklab.errors import SpecError
from groklab.run import train
from groklab.spec import (
    TRANSFORM_NAMES,
    DataSpec,
    ModelSpec,
    OptimSpec,
    RunSpec,
    TrainSpec,
    members_from,
)
from groklab.store import RunStore, load_checkpoint
from groklab.train.noise import Streams
from groklab.train.transforms import TRANSFORMS, build_chain

SIZES = [6, 4, 5]  # three parameter tensors
ALPHA, LAMB_EMA, LAMB_MA = [0.9, 0.5, 0.98], [2.0, 0.5, 1.0], [5.0, 1.0, 3.0]


def spec_with(*names, window=3):
    return RunSpec(
        optim=OptimSpec(transforms=names, grokfast_ma_window=window),
        members=members_from(
            seed=[0, 1, 2],
            grokfast_ema_alpha=ALPHA,
            grokfast_ema_lamb=LAMB_EMA,
            grokfast_ma_lamb=LAMB_MA,
        ),
    )


def run_chain(spec, flats, grads):
    chain = build_chain(spec, sizes=SIZES, streams=Streams(spec), device=torch.device("cpu"))
    state = chain.init_state(flats[0])
    return [chain(g, w, state) for w, g in zip(flats, grads, strict=True)]


def series(steps=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    flats = [torch.randn(3, sum(SIZES), generator=gen) for _ in range(steps)]
    grads = [torch.randn(3, sum(SIZES), generator=gen) for _ in range(steps)]
    return flats, grads


def plain_ema(grads, alpha, lamb):
    """Lee et al.'s EMA filter for one model's gradient list."""
    mu, out = None, []
    for g in grads:
        mu = g.clone() if mu is None else mu * alpha + g * (1 - alpha)
        out.append(g + lamb * mu)
    return out


def plain_ma(grads, window, lamb):
    seen, out = [], []
    for g in grads:
        seen = (seen + [g])[-window:]
        out.append(g + lamb * torch.stack(seen).mean(0) if len(seen) == window else g)
    return out


def plain_orthograd(w, g):
    """Per parameter tensor: remove the component along w, keep the norm."""
    out = []
    for wi, gi in zip(w.split(SIZES), g.split(SIZES), strict=True):
        perp = gi - (torch.dot(wi, gi) / (torch.dot(wi, wi) + 1e-30)) * wi
        out.append(perp * gi.norm() / (perp.norm() + 1e-30))
    return torch.cat(out)


def test_grokfast_ema_equals_a_plain_filter_member_by_member():
    flats, grads = series()
    got = run_chain(spec_with("grokfast_ema"), flats, grads)
    for m in range(3):
        want = plain_ema([g[m] for g in grads], ALPHA[m], LAMB_EMA[m])
        for step, (a, b) in enumerate(zip(got, want, strict=True)):
            torch.testing.assert_close(a[m], b, rtol=1e-6, atol=1e-6, msg=f"{m=} {step=}")


def test_grokfast_ma_waits_for_a_full_window_then_adds_the_mean():
    flats, grads = series()
    got = run_chain(spec_with("grokfast_ma", window=3), flats, grads)
    assert torch.equal(got[0], grads[0]) and torch.equal(got[1], grads[1])
    for m in range(3):
        want = plain_ma([g[m] for g in grads], 3, LAMB_MA[m])
        for step, (a, b) in enumerate(zip(got, want, strict=True)):
            torch.testing.assert_close(a[m], b, rtol=1e-6, atol=1e-6, msg=f"{m=} {step=}")


def test_orthograd_is_orthogonal_to_each_tensor_keeps_its_norm_and_matches_plain():
    flats, grads = series()
    got = run_chain(spec_with("orthograd"), flats, grads)
    for w, g, out in zip(flats, grads, got, strict=True):
        for m in range(3):
            torch.testing.assert_close(out[m], plain_orthograd(w[m], g[m]))
            for wi, oi, gi in zip(
                w[m].split(SIZES), out[m].split(SIZES), g[m].split(SIZES), strict=True
            ):
                assert abs(torch.dot(wi, oi)) < 1e-5
                torch.testing.assert_close(oi.norm(), gi.norm())


def test_chain_applies_transforms_in_the_order_given():
    flats, grads = series()
    got = run_chain(spec_with("orthograd", "grokfast_ema"), flats, grads)
    for m in range(3):
        perp = [plain_orthograd(w[m], g[m]) for w, g in zip(flats, grads, strict=True)]
        want = plain_ema(perp, ALPHA[m], LAMB_EMA[m])
        torch.testing.assert_close(torch.stack([o[m] for o in got]), torch.stack(want))


def test_noise_and_clip_come_after_the_listed_transforms():
    spec = replace(
        spec_with("grokfast_ema"), optim=OptimSpec(transforms=("grokfast_ema",), grad_clip=0.5)
    )
    chain = build_chain(spec, sizes=SIZES, streams=Streams(spec), device=torch.device("cpu"))
    assert [t.name for t in chain.transforms] == ["grokfast_ema", "clip"]
    noisy = replace(spec, members=members_from(seed=[0, 1], grad_noise=[0.0, 0.1]))
    chain = build_chain(noisy, sizes=SIZES, streams=Streams(noisy), device=torch.device("cpu"))
    assert [t.name for t in chain.transforms] == ["grokfast_ema", "grad_noise", "clip"]


def test_registry_builds_every_name_the_spec_accepts():
    assert set(TRANSFORMS) == set(TRANSFORM_NAMES)


def test_unknown_or_repeated_transform_is_a_one_line_error_listing_the_choices():
    with pytest.raises(
        SpecError, match="transforms='bogus' is not allowed; choose one of grokfast_ema"
    ):
        OptimSpec(transforms=("bogus",))
    with pytest.raises(SpecError, match="names one twice"):
        OptimSpec(transforms="orthograd,orthograd")
    with pytest.raises(SpecError, match="grokfast_ema_alpha=1.0 is out of range"):
        members_from(grokfast_ema_alpha=1.0)


def test_specs_without_transforms_keep_their_run_ids():
    """Ids computed before transforms existed: a stored run keeps its id and resumes."""
    population = RunSpec(
        data=DataSpec(op="add", p=97),
        train=TrainSpec(stop_at_val_acc=0.99),
        members=members_from(seed=[0, 1, 2, 3], weight_decay=[0.3, 1, 1, 3]),
    )
    sgd = RunSpec(
        optim=OptimSpec(optimizer="sgd", momentum=0.9, grad_clip=1.0),
        members=members_from(seed=[0, 1], grad_noise=[0.0, 0.01], update_noise=0.001),
    )
    assert RunSpec().run_id == "r-45ee8a86f1"
    assert population.run_id == "r-40c0827d54"
    assert sgd.run_id == "r-3936b1198c"
    assert RunSpec(optim=OptimSpec(transforms=("orthograd",))).run_id != RunSpec().run_id


def test_resumed_run_with_every_transform_equals_uninterrupted_bit_for_bit(train_until, tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=11),
        model=ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=32, mlp_bias=True),
        optim=OptimSpec(
            transforms=("orthograd", "grokfast_ma", "grokfast_ema"),
            grad_clip=1.0,
            grokfast_ma_window=5,
        ),
        train=TrainSpec(steps=40, eval_every=10),
        members=members_from(seed=[0, 1], grokfast_ema_lamb=[1.0, 3.0], grad_noise=[0.0, 0.01]),
    )
    straight = train(spec, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")

    train_until(spec, store, 20)
    resumed = train(spec, store)
    a = load_checkpoint(RunStore(tmp_path / "a").checkpoint_path(spec.run_id))
    b = load_checkpoint(store.checkpoint_path(spec.run_id))
    assert torch.equal(a["flat"], b["flat"])
    for name in ("grokfast_ma", "grokfast_ema"):
        for key, value in a["transforms"][name].items():
            assert torch.equal(value, b["transforms"][name][key]), (name, key)
    for name, values in straight.curves.items():
        assert np.array_equal(values, resumed.curves[name], equal_nan=True), name


def test_a_member_with_transforms_trains_the_same_alone_or_in_a_population(tmp_path):
    base = RunSpec(
        data=DataSpec(op="add", p=11),
        model=ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=32),
        optim=OptimSpec(transforms=("grokfast_ema", "orthograd")),
        train=TrainSpec(steps=15, eval_every=5),
        members=members_from(
            seed=[3, 4], grokfast_ema_lamb=[0.5, 4.0], grokfast_ema_alpha=[0.9, 0.8]
        ),
    )
    together = train(base, RunStore(tmp_path / "pop")).curves
    alone = replace(base, members=base.members[1:])
    single = train(alone, RunStore(tmp_path / "one")).curves
    np.testing.assert_allclose(together["train_loss"][1], single["train_loss"][0], rtol=1e-5)


def test_checkpoint_from_before_named_optimizer_state_still_resumes(train_until, tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=16),
        optim=OptimSpec(optimizer="sgd", momentum=0.9),
        train=TrainSpec(steps=20, eval_every=10),
        members=members_from(seed=0, lr=0.05),
    )
    straight = train(spec, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")

    train_until(spec, store, 10)
    path = store.checkpoint_path(spec.run_id)
    saved = torch.load(path, weights_only=True)
    buffer = saved["opt"]["momentum_buffer"]
    saved["opt"] = {"step": saved["opt"]["step"], "exp_avg": buffer, "exp_avg_sq": torch.zeros(0)}
    del saved["transforms"]  # the old format had neither
    del saved["digest"]  # nor a content digest (checkpoint format 1)
    torch.save({**saved, "format": 1}, path)
    resumed = train(spec, store)
    assert np.array_equal(straight.curves["train_loss"], resumed.curves["train_loss"])


def plain_egd(matrix):
    """Pasand & Dohmatob's (G G^T)^(-1/2) G for one model's gradient matrix, with the singular
    values clamped at 1e-9 as in their code: U diag(1 / max(s, eps)) U^T G."""
    u, s, _ = torch.linalg.svd(matrix, full_matrices=False)
    return (u / s.clamp(min=1e-9)) @ (u.T @ matrix)


def weight_map(name, shape, flat):
    """A parameter's flat values as the matrix of its linear map (per-head [H, D, dh] W_Q is the
    [D, H dh] map; W_O [H, dh, D] is [H dh, D])."""
    if len(shape) == 3 and name.endswith(("W_Q", "W_K", "W_V")):
        h, d, dh = shape
        return flat.view(h, d, dh).permute(1, 0, 2).reshape(d, h * dh)
    if len(shape) == 3:
        return flat.view(-1, shape[-1])
    return flat.view(*shape)


def test_egd_whitens_every_weight_matrix_per_member_as_a_plain_svd_does():
    model = ModelSpec(
        n_layers=1, d_model=8, n_heads=2, d_mlp=12, mlp_bias=True, positions="learned"
    )
    spec = RunSpec(
        data=DataSpec(op="add", p=7),
        model=model,
        optim=OptimSpec(transforms=("egd",)),
        members=members_from(seed=[0, 1, 2]),
    )
    from groklab.train.state import init_state, make_task

    device = torch.device("cpu")
    population = init_state(spec, make_task(spec, device), device).population
    sizes, shapes = population.sizes, population.shapes
    chain = build_chain(spec, sizes=sizes, streams=Streams(spec), device=device,
                        names=population.names, shapes=shapes)  # fmt: skip
    gen = torch.Generator().manual_seed(0)
    grad = torch.randn(3, sum(sizes), generator=gen, dtype=torch.float64)
    grad[2, : sizes[0]] = 0.0  # a zero gradient stays zero (every singular value below eps)
    out = chain(grad, grad, chain.init_state(grad))
    seen = set()
    for m in range(3):
        for name, shape, g, o in zip(population.names, shapes, grad[m].split(sizes),
                                     out[m].split(sizes), strict=True):  # fmt: skip
            if len(shape) == 1:  # biases and gains pass unchanged
                assert torch.equal(g, o), name
                continue
            as_map = partial(weight_map, name, shape)
            torch.testing.assert_close(as_map(o), plain_egd(as_map(g)), rtol=1e-10, atol=1e-12)
            seen.add(name)
    assert {"W_E", "W_pos", "W_U", "blocks.0.attn.W_Q", "blocks.0.attn.W_O",
            "blocks.0.mlp.W_in", "blocks.0.mlp.W_out"} <= seen  # fmt: skip
    # the result has every singular value 1: U V^T
    w_in = out[0].split(sizes)[population.names.index("blocks.0.mlp.W_in")].view(8, 12)
    torch.testing.assert_close(torch.linalg.svdvals(w_in), torch.ones(8, dtype=torch.float64))
    assert torch.equal(out[2].split(sizes)[0], torch.zeros(sizes[0], dtype=torch.float64))


def test_a_run_with_egd_resumes_bit_for_bit(train_until, tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=11),
        model=ModelSpec(arch="mlp", n_layers=2, d_model=8, d_mlp=16, mlp_bias=True),
        optim=OptimSpec(optimizer="adam_l2", transforms=("egd",)),
        train=TrainSpec(steps=30, eval_every=10),
        members=members_from(seed=[0, 1], weight_decay=0.005),
    )
    straight = train(spec, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")
    train_until(spec, store, 20)
    resumed = train(spec, store)
    for name, values in straight.curves.items():
        assert np.array_equal(values, resumed.curves[name], equal_nan=True), name
    assert straight.curves["train_acc"][:, -1].min() > straight.curves["train_acc"][:, 0].max()
