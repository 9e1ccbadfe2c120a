"""Tests for src/groklab/experiments/omnigrok_modadd.py (Omnigrok Fig. 8, x+y mod 113)."""

import csv

import numpy as np
import pytest

from groklab.experiments.omnigrok_modadd import RUNS, SIZES, is_held, run_spec
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-modadd")


def test_micro_writes_figure_curves_csvs_summary_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "modadd.md",
        "modadd_curves.png",
        "modadd_curves_baseline.csv",
        "modadd_curves_constrained.csv",
        "modadd_summary.csv",
    ]
    assert micro.is_png("modadd_curves.png")
    rows = list(csv.DictReader(micro.path("modadd_curves_baseline.csv").open()))
    assert int(rows[0]["step"]) == 0 and int(rows[-1]["step"]) == 30


def test_markdown_says_what_micro_shrank_and_lists_both_runs(micro):
    text = micro.path("modadd.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "p = 11 (paper 113)" in micro.first.shrunk and "15,000" in micro.first.shrunk
    assert "| baseline |" in text and "| constrained |" in text


def test_constrained_norm_starts_at_alpha_times_the_baseline_and_never_moves(micro):
    base, held = micro.first.numbers["baseline"], micro.first.numbers["constrained"]
    assert held["norm_start"] == pytest.approx(0.8 * base["norm_start"], rel=1e-5)
    assert np.isnan(held["norm_peak"]) and np.isnan(held["step_norm_peak"])  # held: no peak
    assert held["norm_end"] == pytest.approx(held["norm_start"], rel=1e-5)
    assert base["norm_end"] != pytest.approx(base["norm_start"], rel=1e-3)  # wd 1 moves it


def test_numbers_give_steps_to_99_the_delay_and_the_norm_per_run(micro):
    for numbers in micro.first.numbers.values():
        keys = {"steps_to_train", "steps_to_val", "delay", "norm_start", "norm_peak", "norm_end"}
        assert keys <= set(numbers)
    base = micro.first.numbers["baseline"]
    assert base["norm_start"] <= base["norm_peak"]


def test_markdown_says_the_constrained_norm_is_held_instead_of_a_peak(micro):
    held = micro.first.numbers["constrained"]
    row = next(r for r in micro.path("modadd.md").read_text().splitlines() if "| constrained" in r)
    assert f"held at {held['norm_start']:.2f}" in row


def test_is_held_tells_a_flat_norm_from_a_moving_one():
    assert is_held(np.array([24.0, 24.0001, 23.9999]))
    assert not is_held(np.array([30.0, 41.5, 28.1]))


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.trained_all == micro.trained_first and len(micro.trained_first) == 2
    assert micro.mtimes_first == micro.mtimes_all
    assert micro.second.table == micro.first.table


def test_paper_runs_nanda_full_batch_wd_1_against_alpha_08_constrained_for_15k_steps():
    base, held = (run_spec(SIZES["paper"], r) for r in RUNS)
    assert base.model == PRESETS["nanda2023"] and (base.data.op, base.data.p) == ("add", 113)
    assert base.train.batch_size == "full" and base.train.steps == 15_000
    assert (base.optim.optimizer, base.optim.beta1, base.optim.beta2) == ("adamw", 0.9, 0.98)
    m = base.members[0]
    assert (m.train_fraction, m.lr, m.weight_decay, m.init_scale) == (0.3, 1e-3, 1.0, 1.0)
    assert not base.interventions.norm_constraint and held.interventions.norm_constraint
    assert (held.members[0].weight_decay, held.members[0].init_scale) == (0.0, 0.8)
    assert held.data == base.data and held.model == base.model and held.train == base.train
