"""Tests for src/groklab/experiments/omnigrok_toy.py (Omnigrok Fig. 6/8 toy landscape)."""

import csv
from dataclasses import replace

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.omnigrok_landscape import landscape_points, run_landscape
from groklab.experiments.omnigrok_toy import SIZES, base_spec
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-toy")


def test_micro_writes_the_heat_maps_one_csv_row_per_cell_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == ["toy_landscape.csv", "toy_landscape.md", "toy_landscape.png"]
    assert micro.is_png("toy_landscape.png")
    cells = list(csv.DictReader(micro.path("toy_landscape.csv").open()))
    grid = [(float(c["data.messiness"]), float(c["init_scale"])) for c in cells]
    assert grid == [(0.0, 0.5), (0.0, 2.0), (1.0, 0.5), (1.0, 2.0)]
    norms = np.array([float(c["weight_norm"]) for c in cells])
    assert norms[1] / norms[0] == pytest.approx(4.0, rel=1e-4)  # decoder norm = alpha * ||theta_0||
    assert norms[0] == pytest.approx(norms[2], rel=1e-5)  # messiness leaves the decoder alone


def test_markdown_has_a_row_per_messiness_and_says_what_micro_shrank(micro):
    text = micro.path("toy_landscape.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "budget 20 steps (paper 15,000)" in micro.first.shrunk
    assert "| 0 |" in text and "| 1 |" in text
    assert set(micro.first.numbers) == {"m=0", "m=1"}


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.mtimes_first and micro.mtimes_first == micro.mtimes_all
    assert micro.trained_all == micro.trained_first
    assert len(micro.trained_first) == 2  # one population per messiness, alphas as members
    assert micro.second.table == micro.first.table


def test_paper_grid_is_21_messiness_values_to_0_2_and_20_decoder_scales_to_9():
    paper = SIZES["paper"]
    np.testing.assert_allclose(paper.messiness, np.linspace(0, 0.2, 21))
    np.testing.assert_allclose(paper.alphas, np.linspace(0, 9, 21)[1:])
    spec = base_spec(paper)
    assert spec.data.dataset == "toy_add" and spec.data.p == 10
    assert spec.members[0].n_train == 45 and spec.members[0].lr == 1e-2
    assert spec.model == replace(PRESETS["omnigrok_toy"], leaky_slope=0.2)
    assert spec.train.steps == 15_000
    assert (spec.optim.optimizer, spec.optim.beta2, spec.optim.warmup_steps) == ("adam", 0.99, 0)


def test_every_size_uses_the_papers_leaky_slope_and_decays_lr_twice():
    # The Omnigrok code: LeakyReLU(0.2) and StepLR(step_size=5000, gamma=0.2) over 15k steps
    for name, size in SIZES.items():
        spec = base_spec(size)
        assert spec.model.leaky_slope == 0.2, name
        assert (spec.optim.schedule, spec.optim.step_factor) == ("step", 0.2), name
        assert (size.steps - 1) // spec.optim.step_every == 2, name  # two lr decays
    assert base_spec(SIZES["paper"]).optim.step_every == 5_000


def test_cells_hold_the_decoder_norm_with_no_weight_decay():
    points = landscape_points(
        base_spec(SIZES["quick"]), alphas=(1.0, 3.0), axis="data.messiness", values=(0.0, 0.1)
    )
    assert [(p.data.messiness, p.members[0].init_scale) for p in points] == [
        (0.0, 1.0), (0.0, 3.0), (0.1, 1.0), (0.1, 3.0)]  # fmt: skip
    assert all(p.interventions.norm_constraint and p.members[0].weight_decay == 0 for p in points)


@pytest.mark.slow
def test_structured_representation_generalizes_at_a_middle_norm_messy_one_nowhere(tmp_path):
    ctx = ExperimentContext("quick", tmp_path, tmp_path / "store")
    size = replace(SIZES["quick"], steps=2_000, eval_every=50)
    land = run_landscape(base_spec(size), alphas=(0.5, 3.0, 9.0),
                         axis="data.messiness", values=(0.0, 0.2), ctx=ctx)  # fmt: skip
    structured, messy = land.best["best_val_acc"]
    # the U as the experiment's claim reads it (best in the middle, above both ends). Measured
    # with the paper code's LeakyReLU(0.2) and lr steps: 0.1, 0.6, 0.4 (10 test pairs; chance
    # 0.1); the earlier bound (>= 0.7, 0.3 above the ends) was the ReLU model's and had not
    # been re-run since that change
    assert structured[1] > max(structured[0], structured[2])
    assert messy.max() <= 0.3  # chance is 0.1
    assert (land.best["best_train_acc"][:, 1:] == 1.0).all()  # alpha >= 3 fits every time
