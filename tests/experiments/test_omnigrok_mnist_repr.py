"""Tests for src/groklab/experiments/omnigrok_mnist_repr.py (Omnigrok Fig. 7)."""

import csv

import pytest

from groklab.experiments.omnigrok_landscape import landscape_points
from groklab.experiments.omnigrok_mnist_repr import SIZES, base_spec


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-mnist-repr")


def test_micro_writes_heat_maps_cells_csv_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == ["mnist_repr.csv", "mnist_repr.md", "mnist_repr.png"]
    assert micro.is_png("mnist_repr.png")
    cells = list(csv.DictReader(micro.path("mnist_repr.csv").open()))
    assert len(cells) == 4  # 2 messiness values x 2 alphas
    assert {(float(c["data.messiness"]), float(c["init_scale"])) for c in cells} == {
        (0.0, 0.5),
        (0.0, 2.0),
        (1.0, 0.5),
        (1.0, 2.0),
    }


def test_each_cell_is_held_at_alpha_times_the_initial_norm(micro):
    cells = list(csv.DictReader(micro.path("mnist_repr.csv").open()))
    norm = {(c["data.messiness"], float(c["init_scale"])): float(c["weight_norm"]) for c in cells}
    for m in ("0.0", "1.0"):
        assert norm[m, 2.0] == pytest.approx(4 * norm[m, 0.5], rel=1e-5)


def test_markdown_says_what_micro_shrank_and_the_messiness_convention(micro):
    text = micro.path("mnist_repr.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "budget 20 steps (paper 10,000)" in micro.first.shrunk
    assert "x = m * image + (1 - m) * template" in text
    assert set(micro.first.numbers) == {0.0, 1.0}


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.mtimes_first == micro.mtimes_all
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_quick_cells_are_constrained_wd_0_with_messiness_on_the_data_spec():
    size = SIZES["quick"]
    points = landscape_points(
        base_spec(size), alphas=size.alphas, axis="data.messiness", values=[0.5]
    )
    assert len(points) == len(size.alphas)
    for spec, alpha in zip(points, size.alphas, strict=True):
        assert spec.data.dataset == "mnist" and spec.data.messiness == 0.5
        assert spec.interventions.norm_constraint and spec.members[0].weight_decay == 0.0
        assert spec.members[0].init_scale == alpha and spec.train.batch_size == 100
    assert len({p.shape_key for p in points}) == 1  # a grid row is one population
