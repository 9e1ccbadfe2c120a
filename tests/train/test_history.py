"""Tests for src/groklab/train/history.py (which steps `--keep-checkpoints` keeps) and the
checkpoint history the loop writes with it, in process and from worker processes."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import groklab
from groklab.errors import GroklabError
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.sweep import SweepSpec, run_sweep
from groklab.sweep.backend import LocalBackend
from groklab.train import TrainOptions
from groklab.train.history import KeepRule
from groklab.train.schedule import is_eval_step


def test_none_keeps_nothing():
    assert KeepRule.parse("none").steps(total_steps=500, eval_every=50) == frozenset()


def test_every_n_keeps_the_first_evaluation_at_or_after_each_multiple_and_the_ends():
    kept = KeepRule.parse("every:30").steps(total_steps=100, eval_every=25)
    assert sorted(kept) == [0, 50, 75, 100]  # 30 -> 50, 60 -> 75, 90 -> 100


def test_log_n_spreads_steps_on_a_log_axis_at_evaluation_steps():
    kept = sorted(KeepRule.parse("log:12").steps(total_steps=20_000, eval_every=100))
    assert kept[0] == 0 and kept[-1] == 20_000
    assert all(is_eval_step(s, 100) or s == 20_000 for s in kept)
    ratios = [b / a for a, b in zip(kept[2:], kept[3:], strict=False)]  # after 0 and 1
    # early evaluations follow 1-2-5 per decade, so neighbours are at most 4x apart there
    assert 10 <= len(kept) <= 13 and max(ratios) <= 4 and min(ratios) > 1.2


@pytest.mark.parametrize("text", ["every", "every:0", "log:-2", "log:x", "all", "none:3", ""])
def test_bad_rule_is_one_line_naming_it_and_the_choices(text):
    with pytest.raises(GroklabError) as error:
        KeepRule.parse(text)
    message = str(error.value)
    assert "\n" not in message and repr(text) in message and "every:N, log:N" in message


SPEC = RunSpec(
    data=DataSpec(op="add", p=11),
    model=ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=32),
    train=TrainSpec(steps=60, eval_every=10),
    members=members_from(seed=[0, 1], lr=1e-2, dropout=[0.0, 0.1]),
)


def test_a_run_keeps_its_state_at_the_rules_steps(tmp_path):
    with RunStore(tmp_path) as store:
        train(SPEC, store, keep_checkpoints="every:25")
        kept = store.kept_checkpoints(SPEC.run_id)
        assert sorted(kept) == [0, 30, 50, 60]
        assert all(load_checkpoint(path)["step"] == step for step, path in kept.items())


def test_a_loaded_member_at_a_kept_step_reproduces_the_stored_metrics_at_that_step(tmp_path):
    with RunStore(tmp_path) as store:
        curves = train(SPEC, store, keep_checkpoints="log:4").curves
        kept = sorted(store.kept_checkpoints(SPEC.run_id))
    assert len(kept) >= 4
    for step in kept:
        j = int(np.flatnonzero(curves["step"] == step)[0])
        for member in range(2):
            model, task = groklab.load(SPEC.run_id, member=member, step=step, store=tmp_path)
            got = task.evaluate(model)
            assert task.step == step
            assert got["val_acc"] == curves["val_acc"][member, j], (step, member)
            assert got["train_acc"] == curves["train_acc"][member, j], (step, member)


def test_kept_checkpoints_of_an_interrupted_run_equal_the_uninterrupted_ones(train_until, tmp_path):
    straight = RunStore(tmp_path / "a")
    train(SPEC, straight, keep_checkpoints="every:10")
    store = RunStore(tmp_path / "b")

    train_until(SPEC, store, 30, keep_checkpoints="every:10")
    train(SPEC, store, keep_checkpoints="every:10")
    a, b = straight.kept_checkpoints(SPEC.run_id), store.kept_checkpoints(SPEC.run_id)
    assert sorted(a) == sorted(b) == [0, 10, 20, 30, 40, 50, 60]
    for step in a:
        sa, sb = load_checkpoint(a[step]), load_checkpoint(b[step])
        assert torch.equal(sa["flat"], sb["flat"]), step
        assert torch.equal(sa["opt"]["exp_avg"], sb["opt"]["exp_avg"]), step


def test_a_run_that_stops_early_keeps_the_step_it_stopped_at(tmp_path):
    spec = replace(SPEC, train=replace(SPEC.train, steps=2000, stop_at_val_acc=0.01))
    with RunStore(tmp_path) as store:
        result = train(spec, store, keep_checkpoints="log:3")
        assert result.step < 2000 and result.step in store.kept_checkpoints(spec.run_id)


def test_worker_processes_bring_their_kept_checkpoints_to_the_driver(tmp_path):
    sweep = SweepSpec(SPEC, grid={"seed": [0, 1], "optim.optimizer": ["adamw", "adam"]})
    keep = TrainOptions(keep_checkpoints="every:20")
    local = run_sweep(sweep, tmp_path / "local", options=keep)
    pooled = run_sweep(sweep, tmp_path / "pool", backend=LocalBackend(workers=2), options=keep)
    with RunStore(tmp_path / "local") as a, RunStore(tmp_path / "pool") as b:
        assert [r.run_id for r in local.results] == [r.run_id for r in pooled.results]
        for run_id in (r.run_id for r in local.results):
            ka, kb = a.kept_checkpoints(run_id), b.kept_checkpoints(run_id)
            assert sorted(ka) == sorted(kb) == [0, 20, 40, 60]
            for step in ka:
                assert torch.equal(
                    load_checkpoint(ka[step])["flat"], load_checkpoint(kb[step])["flat"]
                )
