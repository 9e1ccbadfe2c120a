"""Tests for src/groklab/experiments/power2022_curves.py (Power et al. 2022, Fig. 1 left)."""

import csv
from dataclasses import replace

import pytest

from groklab.experiments import ExperimentContext, get_experiment
from groklab.experiments.power2022_curves import SIZES, run_spec
from groklab.spec import PRESETS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def checkpoint_mtimes(store_root):
    return {p.name: p.stat().st_mtime_ns for p in (store_root / "checkpoints").iterdir()}


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """The micro size run twice on one store: (first result, second result, mtimes, events)."""
    root = tmp_path_factory.mktemp("curves")
    (root / "out").mkdir()
    events = []
    ctx = ExperimentContext(
        size="micro", out_dir=root / "out", store_root=root / "store", progress=events.append
    )
    experiment = get_experiment("power2022-curves")
    first = experiment.run(ctx)
    mtimes = checkpoint_mtimes(root / "store")
    second = experiment.run(replace(ctx, progress=None))
    return first, second, mtimes, checkpoint_mtimes(root / "store"), events


def test_micro_writes_figure_curves_csv_summary_csv_and_markdown(micro):
    result = micro[0]
    names = sorted(p.name for p in result.paths)
    assert names == [
        "curves.md",
        "curves.png",
        "curves_adam.csv",
        "curves_adamw.csv",
        "curves_summary.csv",
    ]
    assert all(p.is_file() for p in result.paths)
    png = next(p for p in result.paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == PNG_MAGIC
    csv_path = next(p for p in result.paths if p.name == "curves_adamw.csv")
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(r["step"]) for r in rows][:3] == [0, 1, 2] and int(rows[-1]["step"]) == 30


def test_markdown_says_what_micro_shrank_and_lists_both_runs(micro):
    result = micro[0]
    text = next(p for p in result.paths if p.suffix == ".md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "p = 7 (paper 97)" in result.shrunk and "1,000,000" in result.shrunk
    assert "| adam |" in text and "| adamw |" in text


def test_numbers_give_steps_to_99_and_the_delay_per_run(micro):
    numbers = micro[0].numbers
    assert set(numbers) == {"adam", "adamw"}
    for run in numbers.values():
        assert {"steps_to_train", "steps_to_val", "delay"} <= set(run)
        assert run["steps_done"] == 30


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    first, second, before, after, _ = micro
    assert before and before == after  # no checkpoint was rewritten
    assert second.table == first.table


def test_progress_counts_both_runs_as_one_sweep(micro):
    events = micro[4]
    assert {e.steps for e in events} == {60}  # 2 runs x 30 steps, one total throughout
    assert events[-1].step == 60 and events[-1].populations_done == 2
    assert [e.step for e in events] == sorted(e.step for e in events)


def test_quick_is_the_power_model_with_adamw_stopping_at_99_percent():
    (spec,) = [run_spec(SIZES["quick"], r) for r in SIZES["quick"]["runs"]]
    assert spec.model == PRESETS["power2022"] and spec.data.op == "div" and spec.data.p == 97
    assert spec.optim.optimizer == "adamw" and spec.members[0].weight_decay == 1.0
    assert spec.train.stop_at_val_acc == 0.99 and spec.members[0].train_fraction == 0.5


def test_paper_runs_adam_without_decay_to_1e6_and_adamw_to_1e5():
    specs = {r.name: run_spec(SIZES["paper"], r) for r in SIZES["paper"]["runs"]}
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
