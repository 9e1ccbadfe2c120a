"""Tests for src/groklab/experiments/omnigrok_teacher_student.py (Omnigrok Fig. 2)."""

import csv
from dataclasses import replace

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.common import train_points
from groklab.experiments.omnigrok_common import member_curves, paper_alphas
from groklab.experiments.omnigrok_landscape import run_landscape
from groklab.experiments.omnigrok_teacher_student import SIZES, run_numbers, run_spec
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-teacher-student")


def test_micro_writes_both_figures_curves_landscape_csv_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "teacher_student.md",
        "teacher_student_curves.png",
        "teacher_student_curves_alpha1.csv",
        "teacher_student_curves_alpha2.csv",
        "teacher_student_curves_summary.csv",
        "teacher_student_landscape.csv",
        "teacher_student_landscape.png",
    ]
    assert micro.is_png("teacher_student_curves.png")
    assert micro.is_png("teacher_student_landscape.png")
    cells = list(csv.DictReader(micro.path("teacher_student_landscape.csv").open()))
    assert [float(c["init_scale"]) for c in cells] == [0.3, 1.0, 3.0]
    norms = np.array([float(c["weight_norm"]) for c in cells])
    np.testing.assert_allclose(norms / [0.3, 1.0, 3.0], norms[1], rtol=1e-4)  # alpha * ||theta_0||


def test_markdown_says_what_micro_shrank(micro):
    text = micro.path("teacher_student.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "grokking budget 30 steps (paper 100,000)" in micro.first.shrunk
    assert "3 alphas in the landscape (paper 21)" in micro.first.shrunk
    assert "| alpha2 |" in text and "| alpha1 |" in text


def test_numbers_give_steps_norms_and_the_landscape_summary(micro):
    numbers = micro.first.numbers
    assert set(numbers) == {"alpha2", "alpha1", "landscape"}
    alpha2, alpha1 = numbers["alpha2"], numbers["alpha1"]
    assert alpha2["initial_weight_norm"] == pytest.approx(2 * alpha1["initial_weight_norm"])
    assert {"steps_to_train", "steps_to_val", "final_val_acc", "final_weight_norm"} <= set(alpha2)
    land = numbers["landscape"]
    assert land["alpha_best_val_loss"] in (0.3, 1.0, 3.0)
    assert land["best_val_loss"] <= min(land["val_loss_smallest_alpha"],
                                        land["val_loss_largest_alpha"])  # fmt: skip


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.mtimes_first and micro.mtimes_first == micro.mtimes_all
    assert micro.trained_all == micro.trained_first
    assert len(micro.trained_first) == 2  # the two grokking runs share one population; cells one
    assert micro.second.table == micro.first.table


def test_paper_grokking_run_is_alpha_2_adamw_lr_3e_4_wd_0_05_full_batch_1e5_steps():
    spec = run_spec(SIZES["paper"], 2.0)
    member = spec.members[0]
    assert spec.model == PRESETS["omnigrok_teacher"] and spec.train.loss == "mse"
    assert (member.init_scale, member.lr, member.weight_decay, member.n_train) == (
        2.0, 3e-4, 0.05, 100)  # fmt: skip
    assert spec.optim.optimizer == "adamw" and spec.optim.warmup_steps == 0
    assert spec.train.steps == 100_000 and spec.train.batch_size == "full"
    assert spec.data.dataset == "teacher_student" and not spec.interventions.norm_constraint


def test_paper_landscape_is_adam_1e4_steps_over_21_alphas():
    spec = run_spec(SIZES["paper"], 1.0, landscape=True)
    assert spec.optim.optimizer == "adam" and spec.members[0].weight_decay == 0.0
    assert spec.train.steps == 10_000
    np.testing.assert_allclose(SIZES["paper"].alphas, paper_alphas(21))


@pytest.mark.slow
def test_alpha_2_fits_the_training_set_long_before_the_test_set_alpha_1_does_not(tmp_path):
    size = replace(SIZES["quick"], steps=5_000)
    ctx = ExperimentContext("quick", tmp_path, tmp_path / "store")
    result = train_points([run_spec(size, 2.0), run_spec(size, 1.0)], ctx, max_members=2)
    alpha2, alpha1 = (run_numbers(member_curves(result, row)) for row in result.rows)
    assert alpha2["steps_to_train"] <= 1_500 and np.isnan(alpha2["steps_to_val"])
    assert alpha2["final_val_acc"] < 0.6 and alpha2["final_weight_norm"] < 16.5  # decaying
    assert alpha1["steps_to_val"] <= 3_000


@pytest.mark.slow
def test_constrained_landscape_is_an_l_for_train_and_a_u_for_test(tmp_path):
    size = replace(SIZES["quick"], landscape_steps=2_000)
    ctx = ExperimentContext("quick", tmp_path, tmp_path / "store")
    land = run_landscape(run_spec(size, 1.0, landscape=True), alphas=(0.1, 1.0, 10.0),
                         axis="n_train", values=(100,), ctx=ctx)  # fmt: skip
    train, val = land.best["best_train_loss"][0], land.best["best_val_loss"][0]
    assert val[1] < val[0] / 10 and val[1] < val[2] / 10  # the U
    assert train[1] < 1e-3 and train[2] < 1e-3 and train[0] > 1e-2  # the L
