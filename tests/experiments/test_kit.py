"""Tests for src/groklab/experiments/kit.py: a declared experiment (a Study) run by the one
runner, its sizes as a table, and the files an outcome names."""

import csv
from dataclasses import dataclass

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.common import STEPS, P
from groklab.experiments.kit import (
    Curves,
    Drawing,
    Files,
    Outcome,
    Study,
    by_run,
    header,
    run_study,
    size_table,
    table_of,
    write_files,
)
from groklab.plots.style import build_figure
from groklab.store.db import METRICS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, kw_only=True)
class Size:
    p: int
    steps: int
    seed: int


SIZES = size_table(
    Size, "p steps", {"paper": (97, 10_000), "quick": (31, 2_000), "micro": (7, 30)}, seed=0
)


def curves(extra: dict | None = None) -> dict[str, np.ndarray]:
    out = {name: np.array([[0.5, 1.0]]) for name in METRICS} | {"step": np.array([0, 10])}
    return out | (extra or {})


def outcome(size: Size, ctx: ExperimentContext, shrunk: str) -> Outcome:
    fig = build_figure(1, figsize=(3, 2))
    fig.axes[0].plot([0, 1], [0, 1])
    rows = [{"run": "a", "p": size.p, "delay": 3.0}, {"run": "b", "p": size.p, "delay": 5.0}]
    files = Files([Drawing("fig.png", fig, "Fake et al., Fig. 1")], {"runs.csv": rows})
    files += Files(tables={"curves_a.csv": curves()})
    table = table_of(rows, {"run": "run", "delay": "delay"})
    return Outcome(by_run(rows, ("p", "delay")), table, "notes here", files, second_table="| x |")


STUDY = Study("fake", "Fake et al., Fig. 1", "a fake", SIZES, (P, STEPS), outcome, "fake.md")


def test_size_table_builds_each_size_from_its_row_and_the_shared_settings():
    assert SIZES["quick"] == Size(p=31, steps=2_000, seed=0)
    wide = size_table(
        Size, "p", {"paper": (97,), "micro": (7,)}, "steps", {"paper": (9,), "micro": (3,)}, seed=1
    )
    assert wide == {"paper": Size(p=97, steps=9, seed=1), "micro": Size(p=7, steps=3, seed=1)}


def test_size_table_refuses_a_row_of_the_wrong_length():
    with pytest.raises(ValueError):
        size_table(Size, "p steps", {"paper": (97,)}, seed=0)


def test_run_study_writes_figure_csv_curves_and_markdown_headed_by_what_the_size_shrank(tmp_path):
    ctx = ExperimentContext("micro", tmp_path, tmp_path / "store")
    result = run_study(STUDY, ctx)
    assert [p.name for p in result.paths] == ["fig.png", "runs.csv", "curves_a.csv", "fake.md"]
    assert (tmp_path / "fig.png").read_bytes()[:8] == PNG_MAGIC
    assert result.shrunk == "p = 7 (paper 97); budget 30 steps (paper 10,000)"
    md = (tmp_path / "fake.md").read_text()
    assert (
        md.startswith("# Fake et al., Fig. 1\n")
        and f"**Shrunk from the paper:** {result.shrunk}" in md
    )
    assert "| a | 3 |" in md and "notes here" in md and "| x |" not in md
    assert result.table.endswith("\n| x |") and result.numbers == {
        "a": {"p": 7, "delay": 3.0},
        "b": {"p": 7, "delay": 5.0},
    }
    assert list(csv.DictReader((tmp_path / "runs.csv").open()))[1] == {
        "run": "b",
        "p": "7",
        "delay": "5.0",
    }


def test_the_paper_size_shrinks_nothing_and_its_declared_experiment_runs_the_same(tmp_path):
    ctx = ExperimentContext("paper", tmp_path, tmp_path / "store")
    result = STUDY.run(ctx)
    assert result.shrunk == "" and "Shrunk" not in (tmp_path / "fake.md").read_text()


def test_curves_with_measures_get_their_columns_after_the_metrics(tmp_path):
    ctx = ExperimentContext("micro", tmp_path, tmp_path / "store")
    extra = curves({"softmax_collapse": np.array([[np.nan, 0.5]])})
    (path,) = write_files(Files(tables={"c.csv": Curves(extra, ("softmax_collapse",))}), ctx)
    assert path.read_text().split("\n")[0] == ",".join(
        ["member", "step", *METRICS, "softmax_collapse"]
    )


def test_files_add_up_in_order():
    fig = build_figure(1)
    a = Files([Drawing("a.png", fig, "a")], {"a.csv": []})
    b = Files([Drawing("b.png", fig, "")], {"b.csv": []})
    total = a + b
    assert [d.file for d in total.drawings] == ["a.png", "b.png"]
    assert list(total.tables) == ["a.csv", "b.csv"]


def test_header_splits_a_markdown_header_row():
    assert header("run | steps to 99 % val | delay") == ["run", "steps to 99 % val", "delay"]
