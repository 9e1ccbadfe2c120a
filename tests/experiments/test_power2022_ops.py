"""Tests for src/groklab/experiments/power2022_ops.py (Power et al. 2022, Fig. 2 left) and the
bar chart it draws (src/groklab/plots/bars.py)."""

import csv
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.data import PAPER_OPS
from groklab.experiments.common import shrunk_text
from groklab.experiments.power2022_ops import (
    NOTES,
    SIZES,
    build_sweeps,
    size_caveat,
    smallest_fractions,
)
from groklab.plots.bars import plot_smallest_fractions
from groklab.spec import PRESETS
from groklab.sweep import SweepResult, expand, pack


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("power2022-ops")


def test_micro_ops_writes_figure_csv_and_markdown(micro):
    names = sorted(path.name for path in micro.first.paths)
    assert names == ["ops.csv", "ops.md", "ops.png"]
    assert all(path.stat().st_size > 0 for path in micro.first.paths)
    assert micro.is_png("ops.png")


def test_micro_ops_markdown_says_what_was_shrunk(micro):
    first = micro.first
    text = micro.path("ops.md").read_text()
    assert first.shrunk and f"**Shrunk from the paper:** {first.shrunk}" in text
    for word in ("p of the modular ops = 7", "budget 20 steps", "2 seeds", "ops add, s5_mul only"):
        assert word in first.shrunk


def test_micro_ops_table_has_one_row_per_op_and_csv_one_row_per_run(micro):
    first = micro.first
    assert "| add | x + y | 49 |" in first.table
    assert "| s5_mul | x * y (S5) | 14400 |" in first.table
    with open(next(p for p in first.paths if p.suffix == ".csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(r["data.op"], r["train_fraction"], r["seed"]) for r in rows] == [
        (op, f, s) for op in ("add", "s5_mul") for f in ("0.5", "0.8") for s in ("0", "1")
    ]
    assert set(first.numbers["smallest_fraction"]) == {"add", "s5_mul"}


def test_micro_ops_run_twice_trains_nothing_the_second_time(micro):
    first, second = micro.first, micro.second
    trained_first, trained_all = micro.trained_first, micro.trained_all
    assert len(trained_first) == 2  # one population per op
    assert trained_all == trained_first
    assert second.table == first.table


def test_smallest_fraction_per_op_uses_the_median_over_seeds():
    rows = [
        {"data.op": "add", "train_fraction": 0.3, "seed": 0, "steps_to_val": math.nan},
        {"data.op": "add", "train_fraction": 0.3, "seed": 1, "steps_to_val": 900.0},
        {"data.op": "add", "train_fraction": 0.5, "seed": 0, "steps_to_val": 400.0},
        {"data.op": "add", "train_fraction": 0.5, "seed": 1, "steps_to_val": 600.0},
        {"data.op": "sub", "train_fraction": 0.3, "seed": 0, "steps_to_val": math.nan},
        {"data.op": "sub", "train_fraction": 0.5, "seed": 0, "steps_to_val": 2000.0},
    ]
    found = smallest_fractions(SweepResult(rows), ("add", "sub"), budget=1000)
    assert found["add"] == 0.5 and math.isnan(found["sub"])


def test_paper_size_has_the_papers_numbers_and_nothing_shrunk():
    paper = SIZES["paper"]
    assert paper.ops == PAPER_OPS and len(PAPER_OPS) == 12
    assert (paper.p, paper.model, paper.lr, paper.weight_decay) == (
        97,
        PRESETS["power2022"],
        1e-3,
        1.0,
    )
    assert paper.steps == 100_000 and paper.batch_size == "power"
    assert paper.fractions == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert shrunk_text(paper, paper, NOTES) == "" and paper.group == {}


def test_quick_size_trains_one_population_per_op_with_s5_on_its_own_batch():
    sweeps = build_sweeps(SIZES["quick"])
    populations = [pop for sweep in sweeps for pop in pack(expand(sweep))]
    assert sorted(pop.data.op for pop in populations) == sorted(PAPER_OPS)
    assert all(pop.n_members == 6 for pop in populations)
    batch = {pop.data.op: pop.train.batch_size for pop in populations}
    assert batch["add"] == 100 and batch["s5_mul"] == 256


def test_bar_chart_draws_never_reached_as_a_hatched_bar_to_one():
    ax = Figure().subplots()
    plot_smallest_fractions(
        ax,
        ["x + y", "x^3 + xy^2 + y", "x - y"],
        [0.3, np.nan, 0.5],
        never_text="not within 10 steps",
    )
    bars = ax.patches
    widths = {round(b.get_y() + b.get_height() / 2): b.get_width() for b in bars}
    assert widths == {2: 0.3, 1: 1.0, 0: 0.5}  # first label on top
    hatched = [b for b in bars if b.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_width() == 1.0
    assert [t.get_text() for t in ax.texts] == ["0.3", "not within 10 steps", "0.5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x + y", "x^3 + xy^2 + y", "x - y"]


def test_bars_also_give_the_number_of_training_examples_so_sizes_compare():
    ax = plot_smallest_fractions(
        Figure().subplots(), ["x + y", "x * y (S5)", "x - y"], [0.4, 0.4, np.nan],
        n_examples=[961, 14_400, 961],
    )  # fmt: skip
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.4 (384 examples)", "0.4 (5,760 examples)", "not within budget"]


def test_quick_size_states_that_s5_gets_15x_more_examples_and_the_paper_size_does_not():
    caveat = size_caveat(SIZES["quick"])
    assert "961 pairs" in caveat and "14,400" in caveat and "15x more" in caveat
    assert size_caveat(SIZES["paper"]) == ""  # 9,409 vs 14,400: within 2x


def test_micro_ops_markdown_states_the_caveat_and_examples(micro):
    text = micro.path("ops.md").read_text()
    assert size_caveat(SIZES["micro"]) in text and "training examples there" in text
