"""Tests for src/groklab/experiments/power2022_fraction.py (Power et al. 2022, Fig. 1 center)."""

import csv

import pytest

from groklab.experiments.common import shrunk_text
from groklab.experiments.power2022_fraction import NOTES, SIZES, sweep_spec
from groklab.sweep import expand, pack


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("power2022-fraction")


def test_micro_writes_figure_runs_csv_summary_csv_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == ["fraction.md", "fraction.png", "fraction_runs.csv", "fraction_summary.csv"]
    assert micro.is_png("fraction.png")
    runs = list(csv.DictReader(micro.path("fraction_runs.csv").open()))
    assert [(float(r["train_fraction"]), int(r["seed"])) for r in runs] == [
        (0.3, 0),
        (0.3, 1),
        (0.6, 0),
        (0.6, 1),
    ]


def test_markdown_says_what_micro_shrank_and_counts_never_reached(micro):
    result = micro.first
    text = micro.path("fraction.md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "p = 7 (paper 97)" in result.shrunk and "budget 30 steps" in result.shrunk
    rows = [r["n_never"] for r in result.numbers["rows"]]
    for row, never in zip(result.numbers["rows"], rows, strict=True):
        assert f"| {row['train_fraction']:g} |" in text and f"{never}/2" in text


def test_second_run_trains_nothing(micro):
    assert len(micro.mtimes_first) == 1 and micro.mtimes_first == micro.mtimes_all
    assert len(micro.trained_first) == 1 and micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_quick_shrunk_text_names_batch_and_lr_together_and_the_papers_fraction_range():
    shrunk = shrunk_text(SIZES["quick"], SIZES["paper"], NOTES)
    assert "batch full, lr 0.01 (paper min(512, |train|/2), lr 0.001)" in shrunk
    assert "fractions 0.4, 0.5, 0.6, 0.7, 0.8 (paper 0.2 to 0.8)" in shrunk
    assert shrunk_text(SIZES["paper"], SIZES["paper"], NOTES) == ""


def test_quick_packs_every_fraction_and_seed_into_one_population():
    sweep = sweep_spec(SIZES["quick"])
    (population,) = pack(expand(sweep), sweep.max_members)
    assert population.n_members == len(SIZES["quick"].fractions) * 3
    assert population.train.batch_size == "full" and population.train.stop_at_val_acc == 0.99
    assert population.data.op == "div"


def test_paper_is_x_div_y_mod_97_with_at_least_3_seeds_and_a_1e5_budget():
    sweep = sweep_spec(SIZES["paper"])
    (population,) = pack(expand(sweep), sweep.max_members)
    assert (population.data.op, population.data.p, population.train.steps) == ("div", 97, 100_000)
    assert len({m.seed for m in population.members}) >= 3
    assert {m.train_fraction for m in population.members} >= {0.2, 0.5, 0.8}


def test_markdown_gives_train_steps_and_says_how_close_a_fraction_never_reached_came(micro):
    text = micro.path("fraction.md").read_text()
    assert "median steps to 99 % train" in text
    for row in micro.first.numbers["rows"]:
        if row["median_steps_to_val"] != row["median_steps_to_val"]:  # nan: no seed got there
            assert f"not reached (best {row['best_val_acc']:.2f})" in text
        assert row["median_steps_to_train"] <= row["median_steps_to_val"] or (
            row["median_steps_to_val"] != row["median_steps_to_val"]
        )
