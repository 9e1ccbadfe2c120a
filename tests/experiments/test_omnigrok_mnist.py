"""Tests for src/groklab/experiments/omnigrok_mnist.py (Omnigrok Fig. 3)."""

import csv
import math

import numpy as np
import pytest

from groklab.analysis.curves import acc_at
from groklab.experiments.omnigrok_mnist import (
    RUNS,
    SIZES,
    landscape_base,
    run_numbers,
    run_spec,
)
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-mnist")


def test_micro_writes_curves_landscape_csvs_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "mnist.md",
        "mnist_curves.png",
        "mnist_curves_alpha1.csv",
        "mnist_curves_alpha8.csv",
        "mnist_curves_alpha8_constrained.csv",
        "mnist_curves_summary.csv",
        "mnist_landscape.csv",
        "mnist_landscape.png",
    ]
    assert micro.is_png("mnist_curves.png") and micro.is_png("mnist_landscape.png")
    cells = list(csv.DictReader(micro.path("mnist_landscape.csv").open()))
    assert len(cells) == 4 and {float(c["n_train"]) for c in cells} == {20.0, 40.0}


def test_markdown_says_what_micro_shrank_and_lists_the_three_runs(micro):
    text = micro.path("mnist.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "weight decay 0.1 (paper 0.01)" in micro.first.shrunk
    assert "budget 30 steps (paper 100,000)" in micro.first.shrunk
    assert "float32 (paper float64)" in micro.first.shrunk
    for run in RUNS:
        assert f"| {run.name} |" in text


def test_constrained_run_keeps_its_norm_and_the_free_runs_do_not(micro):
    numbers = micro.first.numbers
    held = numbers["alpha8_constrained"]
    assert held["final_weight_norm"] == pytest.approx(held["initial_weight_norm"], rel=1e-5)
    free = numbers["alpha8"]
    assert free["final_weight_norm"] != pytest.approx(free["initial_weight_norm"], rel=1e-5)
    assert free["initial_weight_norm"] == pytest.approx(held["initial_weight_norm"])


def test_alpha_8_and_alpha_1_share_one_population_and_the_constrained_run_has_its_own(micro):
    rows = list(csv.DictReader(micro.path("mnist_curves_summary.csv").open()))
    by_run = {r["run"]: r for r in rows}
    assert by_run["alpha8"]["run_id"] == by_run["alpha1"]["run_id"]
    assert by_run["alpha8_constrained"]["run_id"] != by_run["alpha8"]["run_id"]


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.mtimes_first == micro.mtimes_all
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_quick_is_the_paper_model_at_weight_decay_0_1_for_12k_steps():
    quick = {r.name: run_spec(SIZES["quick"], r) for r in RUNS}
    alpha8 = quick["alpha8"]
    assert alpha8.model == PRESETS["omnigrok_mnist"] and alpha8.train.loss == "mse"
    assert alpha8.members[0].init_scale == 8.0 and alpha8.members[0].weight_decay == 0.1
    assert alpha8.members[0].n_train == 1000 and alpha8.train.batch_size == 200
    assert 10_000 <= alpha8.train.steps <= 15_000
    held = quick["alpha8_constrained"]
    assert held.interventions.norm_constraint and held.members[0].weight_decay == 0.0


def test_paper_size_is_float64_wd_0_01_for_1e5_steps_and_landscape_batch_100():
    paper = run_spec(SIZES["paper"], RUNS[0])
    assert paper.train.dtype == "float64" and paper.train.steps == 100_000
    assert paper.members[0].weight_decay == 0.01 and paper.optim.optimizer == "adamw"
    assert paper.optim.beta2 == 0.999 and paper.optim.warmup_steps == 0
    base = landscape_base(SIZES["paper"])
    assert base.train.batch_size == 100 and base.train.steps == 10_000
    assert len(SIZES["paper"].alphas) == 21


def test_run_numbers_find_memorization_then_the_step_test_reaches_80_percent():
    steps = np.array([0, 100, 1000, 2000, 5000, 9000])
    curves = {
        "step": steps,
        "train_acc": np.array([[0.1, 0.5, 0.9, 1.0, 1.0, 1.0]]),
        "val_acc": np.array([[0.1, 0.12, 0.15, 0.2, 0.6, 0.85]]),
        "weight_norm": np.array([[90.0, 89, 85, 80, 60, 40]]),
    }
    numbers = run_numbers(curves)
    assert numbers["steps_to_memorize"] == 2000 and numbers["val_acc_memorized"] == 0.2
    assert numbers["steps_to_goal"] == 9000 and numbers["val_acc_100"] == 0.12
    assert (numbers["initial_weight_norm"], numbers["final_weight_norm"]) == (90.0, 40.0)


def test_accuracy_at_a_step_past_the_last_evaluation_is_nan():
    steps, acc = np.array([0, 10, 30]), np.array([0.1, 0.2, 0.3])
    assert acc_at(steps, acc, 20) == 0.2 and math.isnan(acc_at(steps, acc, 100))
    assert math.isnan(acc_at(steps, acc, float("nan")))
