"""Tests for src/groklab/experiments/common.py: notes on what a size shrank, descriptions of
settings, running points and sweeps from an experiment's context, and numbers read off curves."""

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from groklab.errors import SpecError
from groklab.experiments import ExperimentContext
from groklab.experiments.common import (
    GRID_NOTES,
    MICRO_MLP,
    QUICK_MLP,
    STEPS,
    P,
    curve_numbers,
    describe_batch,
    describe_model,
    describe_op,
    run_sweeps,
    shrunk_notes,
    shrunk_text,
    train_points,
)
from groklab.spec import PRESETS, DataSpec, RunSpec, TrainSpec, members_from
from groklab.sweep import SweepSpec

BASE = RunSpec(
    data=DataSpec(op="add", p=5),
    model=MICRO_MLP,
    train=TrainSpec(steps=4, eval_every=2),
    members=members_from(lr=1e-2),
)


def context(tmp_path, events=None) -> ExperimentContext:
    progress = None if events is None else events.append
    return ExperimentContext("micro", tmp_path, tmp_path / "store", progress=progress)


def test_shrunk_notes_name_each_changed_setting_with_the_papers_value_in_order():
    paper = SimpleNamespace(p=97, model=PRESETS["power2022"], lr=1e-3, weight_decay=1.0,
                            steps=100_000, batch_size="power", fractions=(0.3, 0.5),
                            seeds=(0, 1, 2))  # fmt: skip
    size = SimpleNamespace(**{**vars(paper), "p": 31, "steps": 2_000, "batch_size": 100,
                              "seeds": (0, 1)})  # fmt: skip
    assert shrunk_notes(size, paper) == [
        "p = 31 (paper 97)",
        "budget 2,000 steps (paper 100,000)",
        "batch 100 (paper min(512, |train|/2))",
        "2 seeds (paper 3)",
    ]
    assert shrunk_notes(paper, paper, GRID_NOTES) == []
    assert shrunk_notes(
        SimpleNamespace(p=7, steps=5), SimpleNamespace(p=7, steps=9), (P, STEPS)
    ) == ["budget 5 steps (paper 9)"]


def test_descriptions_spell_out_models_batch_rules_and_ops():
    assert describe_model(PRESETS["power2022"]) == "transformer 2x128 (4 heads, MLP 512)"
    assert describe_model(QUICK_MLP) == "MLP, 1 hidden layer of 256 on 64-d embeddings"
    assert describe_model(PRESETS["omnigrok_mnist"], (784, 10)) == "MLP 784-200-200-10, relu"
    assert describe_model(PRESETS["omnigrok_imdb"]).endswith("2 LSTM layers of 256")
    assert describe_model(PRESETS["prieto2025"]).startswith("MLP one-hot [x; y] -> ")
    assert [describe_batch(b) for b in ("power", "full", 0.5, 128)] == [
        "min(512, |train|/2)",
        "full",
        "0.5 of |train|",
        "128",
    ]
    assert describe_op("div", 97) == "x / y (mod 97)"
    assert describe_op("s5_mul", 97) == "x * y (in S5)"


def test_run_sweeps_gives_grid_values_then_summary_per_point_in_sweep_order(tmp_path):
    sweeps = [
        SweepSpec(BASE, grid={"train_fraction": [0.4, 0.6], "seed": [0, 1]}),
        SweepSpec(BASE, grid={"data.op": ["sub"], "seed": [3]}),
    ]
    result = run_sweeps(sweeps, context(tmp_path))
    assert [(r.get("train_fraction"), r.get("data.op"), r["seed"]) for r in result.rows] == [
        (0.4, None, 0),
        (0.4, None, 1),
        (0.6, None, 0),
        (0.6, None, 1),
        (None, "sub", 3),
    ]
    assert len({r["run_id"] for r in result.rows}) == 2  # one population per shape


def test_run_sweeps_refuses_sweeps_that_would_pack_differently(tmp_path):
    sweeps = [SweepSpec(BASE, max_members=2), SweepSpec(BASE, max_members=3)]
    with pytest.raises(SpecError, match="max_members"):
        run_sweeps(sweeps, context(tmp_path))


def test_train_points_reports_reused_populations_before_it_trains_the_rest(tmp_path):
    points = [replace(BASE, members=members_from(seed=s, lr=1e-2)) for s in (0, 1)]
    train_points(points[:1], context(tmp_path), max_members=1)
    events = []
    result = train_points(points, context(tmp_path, events), max_members=1)
    assert len({r["run_id"] for r in result.rows}) == 2  # max_members=1: a population each
    assert (events[0].populations_done, events[0].step) == (1, 4)  # the reused one, first
    assert (events[-1].populations_done, events[-1].step, events[-1].steps) == (2, 8, 8)


def test_shrunk_text_joins_template_notes_and_rules_in_order_and_is_empty_for_the_paper():
    paper, size = SimpleNamespace(p=97, ops=("a", "b")), SimpleNamespace(p=31, ops=("a",))

    def ops_left_out(size, paper) -> list[str]:
        return [f"ops {', '.join(size.ops)} only"] if size.ops != paper.ops else []

    assert shrunk_text(size, paper, (P, ops_left_out)) == "p = 31 (paper 97); ops a only"
    assert shrunk_text(size, paper, (ops_left_out, P)) == "ops a only; p = 31 (paper 97)"
    assert shrunk_text(paper, paper, (P, ops_left_out)) == ""


def test_pow10_is_correctly_rounded_on_every_machine():
    from groklab.experiments.common import pow10

    exponents = np.linspace(-1.0, 1.0, 21)
    # libm's pow is correctly rounded; numpy's SIMD power was one ulp off on an AVX-512 CPU
    # at 10 ** -0.19999999999999996, which changed an Omnigrok run id between machines
    assert pow10(exponents).tolist() == [math.pow(10.0, float(x)) for x in exponents]
    assert pow10([-1.0, 0.0, 1.0, 2.0]).tolist() == [0.1, 1.0, 10.0, 100.0]
    assert pow10([-0.19999999999999996])[0] == 0.6309573444801934


def test_keeping_checkpoints_fills_in_a_rule_where_none_was_given(tmp_path):
    from groklab.experiments.common import keeping_checkpoints
    from groklab.train import TrainOptions

    user = ExperimentContext("micro", tmp_path, tmp_path / "store", backend="local")
    kept = keeping_checkpoints(user, "log:24")
    assert kept.options.keep_checkpoints.text == "log:24" and kept.backend == "local"
    assert user.options.keep_checkpoints.text == "none"  # the caller's context is unchanged
    told = replace(user, options=TrainOptions(device="cpu", keep_checkpoints="every:50"))
    again = keeping_checkpoints(told, "log:24")  # a rule the user gave is kept
    assert again.options.keep_checkpoints.text == "every:50" and again.device == "cpu"


def test_curve_numbers_reads_first_step_at_a_level_final_and_best_values():
    curves = {
        "step": np.array([0, 10, 20, 30]),
        "val_acc": np.array([[0.1, 0.96, 0.995, 0.97]]),
        "train_loss": np.array([[2.0, 0.5, 0.1, 0.05]]),
    }
    columns = {
        "to_95": "first val_acc 0.95",
        "to_99": "first val_acc 0.99",
        "never": "first val_acc 0.999",
        "final": "final train_loss",
        "best": "best val_acc",
        "steps_done": "final step",
    }
    got = curve_numbers(curves, columns)
    assert list(got) == list(columns)
    assert (got["to_95"], got["to_99"], got["final"], got["best"]) == (10.0, 20.0, 0.05, 0.995)
    assert np.isnan(got["never"]) and got["steps_done"] == 30.0


def test_curve_numbers_reads_levels_from_below_initial_lowest_their_steps_and_values_at_a_step():
    curves = {
        "step": np.array([0, 10, 20, 30]),
        "train_acc": np.array([[0.2, 1.0, 1.0, 1.0]]),
        "val_loss": np.array([[3.0, 0.9, 0.5, 0.7]]),
    }
    columns = {
        "fit": "first val_loss <= 1",
        "start": "initial val_loss",
        "lowest": "lowest val_loss",
        "at_lowest": "when lowest val_loss",
        "at_best": "when best val_loss",
        "memorized": "first train_acc 1",
        "loss_then": "at val_loss memorized",
        "loss_at_25": "at val_loss 25",
        "past_the_end": "at val_loss 31",
    }
    got = curve_numbers(curves, columns)
    assert list(got) == list(columns)
    assert (got["fit"], got["start"], got["lowest"], got["at_lowest"]) == (10.0, 3.0, 0.5, 20.0)
    assert (got["at_best"], got["memorized"], got["loss_then"], got["loss_at_25"]) == (
        0.0,
        10.0,
        0.9,
        0.5,
    )
    assert np.isnan(got["past_the_end"])


def test_curve_numbers_refuses_a_reading_it_does_not_know():
    curves = {"step": np.array([0, 10]), "val_acc": np.array([[0.1, 0.9]])}
    with pytest.raises(ValueError, match="reading 'fnal val_acc' of 'end': how 'fnal'"):
        curve_numbers(curves, {"end": "fnal val_acc"})
