"""Tests for src/groklab/train/muon.py and optimizer="muon" in train/optim.py: the population's
Muon equals torch.optim.Muon (with torch.optim.AdamW on the other tensors) member by member,
which tensors it takes, its checkpointed state, and its bad input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from groklab.errors import SpecError
from groklab.models import build_model
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.train.muon import build_muon_layout, orthogonalize
from groklab.train.optim import init_optim_state, optimizer_step
from groklab.train.population import Population

LR, MUON_LR, WD = [1e-3, 3e-3, 1e-2], [0.02, 0.05, 0.01], [0.0, 0.5, 1.0]
# hidden: layers.0.weight [12, 8] (tall: rows > cols), layers.1.weight [12, 12];
# AdamW: the embedding W_E, the biases and the output layer layers.2
MODEL = ModelSpec(arch="mlp", n_layers=2, d_model=4, d_mlp=12, mlp_bias=True)


def population(seeds=(0, 1, 2)):
    models = [
        build_model(MODEL, d_vocab=9, n_ctx=4, d_out=7, generator=torch.Generator().manual_seed(s))
        for s in seeds
    ]
    return Population.stack(models)


def run_ours(pop, grads, spec):
    flat = pop.flat.detach().clone()
    layout = build_muon_layout(pop.template, pop.names, pop.shapes, flat.device)
    state = init_optim_state(flat, spec, layout)
    for g in grads:
        optimizer_step(
            flat,
            g,
            state,
            spec=spec,
            lr=torch.tensor(LR)[:, None],
            weight_decay=torch.tensor(WD)[:, None],
            target=None,
            layout=layout,
            muon_lr=torch.tensor(MUON_LR)[:, None],
        )
    return flat, state


def run_torch(pop, grads, spec, hidden):
    rows = []
    for m in range(pop.n_members):
        module = pop.member_module(m)
        named = dict(module.named_parameters())
        muon = torch.optim.Muon(
            [named[n] for n in hidden],
            lr=MUON_LR[m],
            weight_decay=WD[m],
            momentum=spec.muon_momentum,
            nesterov=spec.muon_nesterov,
            ns_steps=spec.muon_ns_steps,
        )
        others = [p for n, p in named.items() if n not in hidden]
        adamw = torch.optim.AdamW(
            others, lr=LR[m], betas=(spec.beta1, spec.beta2), eps=spec.eps, weight_decay=WD[m]
        )
        for g in grads:
            for p, chunk in zip(named.values(), g[m].split(pop.sizes), strict=True):
                p.grad = chunk.view_as(p).clone()
            muon.step()
            adamw.step()
        rows.append(torch.cat([p.detach().flatten() for p in module.parameters()]))
    return torch.stack(rows)


@pytest.mark.parametrize("nesterov", [True, False])
def test_population_muon_equals_torch_muon_and_adamw_for_each_member(nesterov):
    pop = population()
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(pop.flat.shape, generator=gen) for _ in range(5)]
    spec = OptimSpec(optimizer="muon", muon_nesterov=nesterov)
    ours, _ = run_ours(pop, grads, spec)
    theirs = run_torch(pop, grads, spec, hidden={"layers.0.weight", "layers.1.weight"})
    # Newton-Schulz runs in bfloat16; batched and single matmuls may round differently
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    assert not torch.equal(ours, pop.flat.detach())


def test_muon_takes_the_hidden_matrices_and_leaves_the_rest_to_adamw():
    pop = population()
    layout = build_muon_layout(pop.template, pop.names, pop.shapes, torch.device("cpu"))
    assert [(m.name, m.fan_in, m.fan_out) for m in layout.matrices] == [
        ("layers.0.weight", 8, 12),
        ("layers.1.weight", 12, 12),
    ]
    covered = torch.cat([layout.muon_index, layout.adamw_index]).sort().values
    assert torch.equal(covered, torch.arange(pop.flat.shape[1]))  # every column exactly once
    tpop = transformer_population()
    tlayout = build_muon_layout(tpop.template, tpop.names, tpop.shapes, torch.device("cpu"))
    assert [(m.name, m.fan_in, m.fan_out) for m in tlayout.matrices] == [
        (f"blocks.0.{name}", fan_in, fan_out)
        for name, fan_in, fan_out in [
            ("attn.W_Q", 8, 8),
            ("attn.W_K", 8, 8),
            ("attn.W_V", 8, 8),
            ("attn.W_O", 8, 8),
            ("mlp.W_in", 8, 16),
            ("mlp.W_out", 16, 8),
        ]
    ]


def transformer_population(seeds=(0, 1, 2)):
    spec = ModelSpec(n_layers=1, d_model=8, n_heads=2, d_mlp=16, norm="pre")
    models = [
        build_model(spec, d_vocab=9, n_ctx=4, d_out=7, generator=torch.Generator().manual_seed(s))
        for s in seeds
    ]
    return Population.stack(models)


def as_linear_weight(name: str, w: torch.Tensor) -> torch.Tensor:
    """A transformer weight (TransformerLens layout, x @ W) as an nn.Linear weight [out, in]."""
    if name.endswith(("W_Q", "W_K", "W_V")):  # [H, D, dh] -> [D, H * dh]
        w = w.permute(1, 0, 2).reshape(w.shape[1], -1)
    return w.reshape(-1, w.shape[-1]).T  # [in, out] -> [out, in]


def from_linear_weight(name: str, w: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    w = w.T
    if name.endswith(("W_Q", "W_K", "W_V")):
        h, d, dh = shape
        return w.reshape(d, h, dh).permute(1, 0, 2)
    return w.reshape(shape)


def test_transformer_muon_equals_torch_muon_on_each_weight_as_an_nn_linear():
    pop = transformer_population()
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(pop.flat.shape, generator=gen) for _ in range(4)]
    spec = OptimSpec(optimizer="muon")
    ours, _ = run_ours(pop, grads, spec)
    layout = build_muon_layout(pop.template, pop.names, pop.shapes, torch.device("cpu"))
    hidden = {m.name for m in layout.matrices}
    rows = []
    for m in range(pop.n_members):
        start = dict(zip(pop.names, pop.params(pop.flat.detach()).values(), strict=True))
        weights = {
            n: torch.nn.Parameter(as_linear_weight(n, w[m]) if n in hidden else w[m].clone())
            for n, w in start.items()
        }
        muon = torch.optim.Muon([weights[n] for n in hidden], lr=MUON_LR[m], weight_decay=WD[m])
        adamw = torch.optim.AdamW(
            [w for n, w in weights.items() if n not in hidden],
            lr=LR[m],
            betas=(spec.beta1, spec.beta2),
            weight_decay=WD[m],
        )
        for g in grads:
            for n, chunk, shape in zip(pop.names, g[m].split(pop.sizes), pop.shapes, strict=True):
                chunk = chunk.view(shape)
                weights[n].grad = as_linear_weight(n, chunk) if n in hidden else chunk.clone()
            muon.step()
            adamw.step()
        back = [
            from_linear_weight(n, w.detach(), shape) if n in hidden else w.detach()
            for (n, w), shape in zip(weights.items(), pop.shapes, strict=True)
        ]
        rows.append(torch.cat([w.flatten() for w in back]))
    torch.testing.assert_close(ours, torch.stack(rows), rtol=0, atol=1e-5)


def test_orthogonalize_gives_singular_values_near_one_for_each_member():
    gen = torch.Generator().manual_seed(0)
    update = torch.randn(3, 16, 10, generator=gen) * torch.tensor([1e-3, 1.0, 1e3])[:, None, None]
    singular = torch.linalg.svdvals(orthogonalize(update, 5).float())  # [M, 10]
    assert singular.min() > 0.5 and singular.max() < 1.5  # Muon's NS: roughly U V^T


def test_muon_on_a_model_without_hidden_matrices_is_a_one_line_error_and_stores_nothing(
    tmp_path,
):
    spec = RunSpec(
        data=DataSpec(op="add", p=7),
        model=replace(PRESETS["prieto2025"], n_layers=1, d_mlp=8),  # input and output layer only
        optim=OptimSpec(optimizer="muon"),
        train=TrainSpec(steps=2),
    )
    store = RunStore(tmp_path / "store")
    with pytest.raises(SpecError, match="optimizer='muon' needs a 2-D hidden weight") as info:
        train(spec, store)
    assert "\n" not in str(info.value)
    assert store.list_runs() == []


def test_bad_muon_settings_are_one_line_errors():
    with pytest.raises(SpecError, match="optimizer='lion' is not allowed; choose one of .*muon"):
        OptimSpec(optimizer="lion")
    with pytest.raises(SpecError, match="muon_momentum=1.0 is out of range"):
        OptimSpec(muon_momentum=1.0)
    with pytest.raises(SpecError, match="muon_ns_steps=0 is out of range"):
        OptimSpec(muon_ns_steps=0)
    with pytest.raises(SpecError, match="muon_lr=0.0 is out of range"):
        members_from(muon_lr=0.0)


def muon_run(steps=30):
    return RunSpec(
        data=DataSpec(op="add", p=11),
        model=ModelSpec(arch="mlp", n_layers=2, d_model=8, d_mlp=24, mlp_bias=True),
        optim=OptimSpec(optimizer="muon", warmup_steps=3),
        train=TrainSpec(steps=steps, eval_every=10),
        members=members_from(seed=[0, 1], lr=[1e-3, 3e-3], muon_lr=[0.02, 0.01], weight_decay=0.1),
    )


def test_resumed_muon_run_equals_uninterrupted_bit_for_bit(train_until, tmp_path):
    spec = muon_run()
    straight = train(spec, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")

    train_until(spec, store, 20)
    resumed = train(spec, store)
    a = load_checkpoint(RunStore(tmp_path / "a").checkpoint_path(spec.run_id))
    b = load_checkpoint(store.checkpoint_path(spec.run_id))
    assert torch.equal(a["flat"], b["flat"])
    assert set(a["opt"]) == {"step", "momentum_buffer", "exp_avg", "exp_avg_sq"}
    for key in ("momentum_buffer", "exp_avg", "exp_avg_sq"):
        assert torch.equal(a["opt"][key], b["opt"][key]), key
    for name, values in straight.curves.items():
        assert np.array_equal(values, resumed.curves[name], equal_nan=True), name


def test_a_muon_member_trains_the_same_alone_or_in_a_population(tmp_path):
    spec = muon_run(steps=15)
    together = train(spec, RunStore(tmp_path / "pop")).curves
    alone = train(replace(spec, members=spec.members[1:]), RunStore(tmp_path / "one")).curves
    np.testing.assert_allclose(together["train_loss"][1], alone["train_loss"][0], rtol=1e-4)


def test_specs_without_muon_fields_keep_their_run_ids():
    assert RunSpec().run_id == "r-45ee8a86f1"
    assert RunSpec(optim=OptimSpec(muon_momentum=0.95, step_every=5000)).run_id == "r-45ee8a86f1"
    assert RunSpec(members=members_from(seed=0, muon_lr=0.02)).run_id == "r-45ee8a86f1"
    assert RunSpec(optim=OptimSpec(optimizer="muon")).run_id != "r-45ee8a86f1"
