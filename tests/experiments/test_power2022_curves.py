"""Tests for src/groklab/experiments/power2022_curves.py (Power et al. 2022, Fig. 1 left)."""

import csv

import pytest

from groklab.experiments.power2022_curves import SIZES, run_spec
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("power2022-curves")


def test_micro_writes_figure_curves_csv_summary_csv_and_markdown(micro):
    result = micro.first
    names = sorted(p.name for p in result.paths)
    assert names == [
        "curves.md",
        "curves.png",
        "curves_adam.csv",
        "curves_adamw.csv",
        "curves_summary.csv",
    ]
    assert all(p.is_file() for p in result.paths)
    assert micro.is_png("curves.png")
    rows = list(csv.DictReader(micro.path("curves_adamw.csv").open()))
    assert [int(r["step"]) for r in rows][:3] == [0, 1, 2] and int(rows[-1]["step"]) == 30


def test_markdown_says_what_micro_shrank_and_lists_both_runs(micro):
    result = micro.first
    text = micro.path("curves.md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "p = 7 (paper 97)" in result.shrunk and "1,000,000" in result.shrunk
    assert "| adam |" in text and "| adamw |" in text


def test_numbers_give_steps_to_99_and_the_delay_per_run(micro):
    numbers = micro.first.numbers
    assert set(numbers) == {"adam", "adamw"}
    for run in numbers.values():
        assert {"steps_to_train", "steps_to_val", "delay"} <= set(run)
        assert run["steps_done"] == 30


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.mtimes_first and micro.mtimes_first == micro.mtimes_all  # none rewritten
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_each_run_trains_in_a_population_of_its_own(micro):
    rows = list(csv.DictReader(micro.path("curves_summary.csv").open()))
    assert [r["member"] for r in rows] == ["0", "0"] and len({r["run_id"] for r in rows}) == 2
    assert sorted(micro.trained_first) == sorted(r["run_id"] for r in rows)


def test_progress_counts_both_runs_as_one_sweep(micro):
    events = micro.events
    assert {e.steps for e in events} == {60}  # 2 runs x 30 steps, one total throughout
    assert events[-1].step == 60 and events[-1].populations_done == 2
    assert [e.step for e in events] == sorted(e.step for e in events)


def test_quick_is_the_power_model_with_adamw_stopping_at_99_percent():
    (spec,) = [run_spec(SIZES["quick"], r) for r in SIZES["quick"].runs]
    assert spec.model == PRESETS["power2022"] and spec.data.op == "div" and spec.data.p == 97
    assert spec.optim.optimizer == "adamw" and spec.members[0].weight_decay == 1.0
    assert spec.train.stop_at_val_acc == 0.99 and spec.members[0].train_fraction == 0.5


def test_paper_runs_adam_without_decay_to_1e6_and_adamw_to_1e5():
    specs = {r.name: run_spec(SIZES["paper"], r) for r in SIZES["paper"].runs}
    adam, adamw = specs["adam"], specs["adamw"]
    assert (adam.optim.optimizer, adam.members[0].weight_decay, adam.train.steps) == (
        "adam",
        0.0,
        1_000_000,
    )
    assert (adamw.optim.optimizer, adamw.members[0].weight_decay, adamw.train.steps) == (
        "adamw",
        1.0,
        100_000,
    )
    assert adam.train.batch_size == "power" and adam.optim.warmup_steps == 10
