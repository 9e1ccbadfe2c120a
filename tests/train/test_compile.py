"""Tests for `compile` (src/groklab/train/step.py build_loss_fn, loop.py train, `groklab train
--compile`): a compiled run matches an uncompiled one up to float reassociation, and the flag
leaves the run id alone.

Inductor's C++ code generation takes tens of seconds even for a tiny model, so the fast tests
compile with the "aot_eager" backend: the same graph capture through vmap(functional_call) and
the same AOTAutograd backward, without code generation. One slow test uses the real default.
"""

import contextlib
import io
import re
from dataclasses import replace

import pytest
import torch

import groklab
import groklab.train.step as step_module
from groklab.cli import main
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train import TrainingInterrupted

TINY = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)


def tiny_spec(model: ModelSpec = TINY, **train_kwargs) -> RunSpec:
    return RunSpec(
        data=DataSpec(op="add", p=7),
        model=model,
        train=TrainSpec(**{"steps": 12, "eval_every": 4, "batch_size": 8, **train_kwargs}),
        members=members_from(seed=[0, 1], lr=3e-3, weight_decay=1.0, train_fraction=0.6),
    )


@pytest.fixture
def aot_eager(monkeypatch):
    """torch.compile with the aot_eager backend; the list counts the functions compiled."""
    compiled, real_compile = [], torch.compile

    def fake_compile(fn, **kwargs):
        compiled.append(fn)
        return real_compile(fn, backend="aot_eager", **kwargs)

    monkeypatch.setattr(step_module.torch, "compile", fake_compile, raising=True)
    return compiled


def assert_runs_close(plain, compiled) -> None:
    assert plain.run_id == compiled.run_id and plain.step == compiled.step
    for name in ("train_loss", "val_loss", "train_acc", "val_acc", "weight_norm"):
        torch.testing.assert_close(
            torch.from_numpy(compiled.curves[name]), torch.from_numpy(plain.curves[name])
        )


def test_compiled_run_matches_uncompiled_run_for_a_population_with_dropout(tmp_path, aot_eager):
    members = members_from(seed=[0, 1], lr=3e-3, weight_decay=1.0, train_fraction=0.6, dropout=0.1)
    spec = replace(tiny_spec(), members=members)
    plain = train(spec, RunStore(tmp_path / "plain"))
    assert not aot_eager
    compiled = train(spec, RunStore(tmp_path / "compiled"), compile=True)
    assert len(aot_eager) == 1  # built once per train() call, not once per step
    assert_runs_close(plain, compiled)


def test_compiled_nanda_full_batch_run_with_norm_constraint_matches(tmp_path, aot_eager):
    model = replace(PRESETS["nanda2023"], d_model=16, n_heads=2, d_mlp=64)
    spec = tiny_spec(model, batch_size="full")
    spec = replace(spec, interventions=replace(spec.interventions, norm_constraint=True))
    plain = train(spec, RunStore(tmp_path / "plain"))
    compiled = train(spec, RunStore(tmp_path / "compiled"), compile=True)
    assert_runs_close(plain, compiled)
    assert plain.curves["train_loss"][0, -1] < plain.curves["train_loss"][0, 0]  # it trained


def test_compiled_onehot_mlp_run_matches_and_its_first_layer_trains(tmp_path, aot_eager):
    """The one-hot first layer's custom Function (models/gather.py) under compile: traced under
    vmap, not through its own vmap rule, and still differentiated (a first layer cut off from
    the gradient trained the rest alone and matched nothing)."""
    model = replace(PRESETS["prieto2025"], d_mlp=16)
    spec = replace(tiny_spec(model, batch_size="full"), data=DataSpec(op="add", p=11))
    plain = train(spec, RunStore(tmp_path / "plain"))
    compiled = train(spec, RunStore(tmp_path / "compiled"), compile=True)
    assert len(aot_eager) == 1
    assert_runs_close(plain, compiled)
    weights = [
        groklab.load(r.run_id, member=0, store=RunStore(tmp_path / d))[0].layers[0].weight
        for r, d in ((plain, "plain"), (compiled, "compiled"))
    ]
    torch.testing.assert_close(weights[1], weights[0])  # the first layer trained alike


def test_compiled_run_resumes_an_uncompiled_one_to_the_same_numbers(tmp_path, aot_eager):
    plain = train(tiny_spec(), RunStore(tmp_path / "plain"))
    store = RunStore(tmp_path / "half")

    def ctrl_c_at_step_4(p) -> None:
        if p.step >= 4:
            raise KeyboardInterrupt  # as Ctrl-C between steps: the loop saves and stops

    with pytest.raises(TrainingInterrupted):
        train(tiny_spec(), store, progress=ctrl_c_at_step_4)
    resumed = train(tiny_spec(), store, compile=True)
    assert resumed.status == "done" and len(aot_eager) == 1
    assert_runs_close(plain, resumed)


def test_cli_accepts_compile_and_keeps_the_run_id(tmp_path, aot_eager):
    argv = ["train", "--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16"]
    argv += ["--n-heads", "2", "--d-mlp", "32", "--steps", "4", "--eval-every", "2"]
    ids = []
    for extra in ([], ["--compile"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*argv, "--store", str(tmp_path / f"s{len(ids)}"), *extra])
        assert status == 0, err.getvalue()
        ids.append(re.search(r"^run (r-[0-9a-f]{10}): ", out.getvalue(), re.M).group(1))
    assert ids[0] == ids[1] and len(aot_eager) == 1


@pytest.mark.slow
def test_inductor_compiled_run_matches_uncompiled_run(tmp_path):
    spec = tiny_spec()
    plain = train(spec, RunStore(tmp_path / "plain"))
    compiled = train(spec, RunStore(tmp_path / "compiled"), compile=True)
    assert_runs_close(plain, compiled)
