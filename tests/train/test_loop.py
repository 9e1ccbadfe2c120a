import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from groklab.run import train
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.train import TrainingInterrupted

TINY = ModelSpec(n_layers=1, d_model=32, n_heads=4, d_mlp=64)


def tiny_spec(**train_kwargs):
    return RunSpec(
        data=DataSpec(op="add", p=7),
        model=TINY,
        train=TrainSpec(**{"steps": 200, "eval_every": 50, **train_kwargs}),
        members=members_from(seed=0, lr=3e-3, weight_decay=0.0, train_fraction=0.6),
    )


def test_tiny_transformer_memorizes_train_split_of_add_mod_7(tmp_path):
    result = train(tiny_spec(), RunStore(tmp_path))
    assert result.status == "done" and result.step == 200
    assert result.curves["train_acc"][0, -1] == 1.0
    assert result.curves["train_acc"][0, 0] < 0.5  # it had to learn it
    assert result.steps_to_train[0] <= 200


def test_tiny_mlp_generalizes_on_add_mod_23_with_weight_decay(tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=23),
        model=replace(PRESETS["mlp"], n_layers=1, d_model=64, d_mlp=256),
        train=TrainSpec(steps=800, eval_every=50, batch_size="full", stop_at_val_acc=0.99),
        members=members_from(seed=0, lr=1e-2, weight_decay=1.0, train_fraction=0.8),
    )
    result = train(spec, RunStore(tmp_path))
    assert result.steps_to_train[0] < result.steps_to_val[0] <= 800
    assert result.curves["val_acc"][0, -1] >= 0.99
    assert result.step < 800  # stopped early once validation accuracy held 99 %


def test_population_of_3_equals_3_single_runs(tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=13),
        model=TINY,
        train=TrainSpec(steps=30, eval_every=10),
        members=members_from(
            seed=[4, 5, 6],
            train_fraction=[0.5, 0.6, 0.7],
            lr=[1e-3, 3e-3, 1e-2],
            weight_decay=[0.0, 1.0, 0.3],
            dropout=[0.1, 0.0, 0.3],
            n_outliers=[2, 0, 1],
            grad_noise=[0.0, 0.01, 0.0],
            update_noise=[0.01, 0.0, 0.0],
            weight_noise=[0.0, 0.0, 0.01],
        ),
    )
    together = train(spec, RunStore(tmp_path / "pop"))
    flat = load_checkpoint(RunStore(tmp_path / "pop").checkpoint_path(spec.run_id))["flat"]
    for i, member in enumerate(spec.members):
        single = replace(spec, members=(member,))
        alone = train(single, RunStore(tmp_path / f"m{i}"))
        ckpt = load_checkpoint(RunStore(tmp_path / f"m{i}").checkpoint_path(single.run_id))
        torch.testing.assert_close(flat[i], ckpt["flat"][0])
        for name in ("train_loss", "val_acc", "weight_norm"):
            np.testing.assert_allclose(
                together.curves[name][i], alone.curves[name][0], rtol=1e-4, atol=1e-5
            )


def interrupting_progress(at_step):
    def progress(event):
        if event.step == at_step:
            raise KeyboardInterrupt

    return progress


def test_resumed_run_equals_uninterrupted_run_bit_for_bit(tmp_path):
    spec = RunSpec(
        data=DataSpec(op="add", p=11),
        model=replace(TINY, n_layers=2),
        optim=OptimSpec(decay_to="init", schedule="cosine"),
        train=TrainSpec(steps=60, eval_every=7),
        members=members_from(
            seed=[0, 1],
            train_fraction=[0.5, 0.6],
            dropout=0.2,
            n_outliers=3,
            grad_noise=0.01,
            update_noise=0.01,
            weight_noise=0.01,
        ),
    )
    straight = train(spec, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")
    with pytest.raises(TrainingInterrupted) as info:
        train(spec, store, progress=interrupting_progress(21))
    assert info.value.step == 21
    assert store.get_run(spec.run_id).status == "interrupted"
    resumed = train(spec, store)
    a = load_checkpoint(RunStore(tmp_path / "a").checkpoint_path(spec.run_id))
    b = load_checkpoint(store.checkpoint_path(spec.run_id))
    assert torch.equal(a["flat"], b["flat"])
    assert torch.equal(a["opt"]["exp_avg_sq"], b["opt"]["exp_avg_sq"])
    for name, values in straight.curves.items():
        assert np.array_equal(values, resumed.curves[name], equal_nan=True), name


def test_training_a_finished_spec_again_reports_it_done_without_training(tmp_path):
    store = RunStore(tmp_path)
    first = train(tiny_spec(steps=20), store)
    mtime = store.checkpoint_path(first.run_id).stat().st_mtime_ns
    again = train(tiny_spec(steps=20), store)
    assert again.status == "done" and again.step == 20
    assert store.checkpoint_path(first.run_id).stat().st_mtime_ns == mtime
    assert np.array_equal(first.curves["train_loss"], again.curves["train_loss"])


TINY_CLI = [
    "--op",
    "add",
    "--p",
    "7",
    "--model",
    "mlp",
    "--d-model",
    "8",
    "--d-mlp",
    "16",
    "--n-layers",
    "1",
]


def start_training(store, *flags):
    """`groklab train` on a tiny MLP in a subprocess (one torch thread)."""
    cmd = [sys.executable, "-m", "groklab", "train", *TINY_CLI, *flags, "--store", str(store)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_run(store, ready, timeout=60.0):
    """Read the store as a second process would until `ready(run, curves)` holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.2)
        runs = RunStore(store).list_runs() if (store / "runs.sqlite").exists() else []
        if runs and ready(runs[0], RunStore(store).read_curves(runs[0].run_id)):
            return
    raise AssertionError(f"the run in {store} did not get there within {timeout} s")


def test_ctrl_c_of_a_training_subprocess_leaves_a_resumable_run(tmp_path):
    store = tmp_path / "store"
    proc = start_training(
        store, "--steps", "400000", "--eval-every", "20", "--checkpoint-every", "100000"
    )
    wait_for_run(store, lambda run, curves: run.status == "running" and len(curves["step"]) > 3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Resume with" in out and "Traceback" not in err
    run = RunStore(store).list_runs()[0]
    assert run.status == "interrupted" and run.step > 0
    ckpt = load_checkpoint(RunStore(store).checkpoint_path(run.run_id))
    assert ckpt["step"] == run.step and not ckpt["done"]


def test_kill_9_loses_at_most_one_checkpoint_interval_and_resumes_exactly(tmp_path):
    flags = ("--steps", "3000", "--eval-every", "250", "--checkpoint-every", "100")
    killed = start_training(tmp_path / "killed", *flags)
    wait_for_run(tmp_path / "killed", lambda run, curves: run.step >= 200)  # 2 checkpoints
    killed.kill()
    killed.wait()
    a = RunStore(tmp_path / "killed")
    run = a.list_runs()[0]
    saved = load_checkpoint(a.checkpoint_path(run.run_id))
    assert run.status == "running" and saved["step"] % 100 == 0 and saved["step"] >= 200
    resumed = start_training(tmp_path / "killed", *flags)
    straight = start_training(tmp_path / "straight", *flags)
    assert resumed.wait(timeout=120) == 0 and straight.wait(timeout=120) == 0
    b = RunStore(tmp_path / "straight")
    assert torch.equal(
        load_checkpoint(a.checkpoint_path(run.run_id))["flat"],
        load_checkpoint(b.checkpoint_path(run.run_id))["flat"],
    )
    for name, values in a.read_curves(run.run_id).items():
        assert np.array_equal(values, b.read_curves(run.run_id)[name], equal_nan=True), name
