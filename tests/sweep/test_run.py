"""Tests for src/groklab/sweep/run.py and backend.py: running, reusing and tabulating a sweep."""

import csv
import math
import sqlite3

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.sweep import (
    LocalBackend,
    SweepResult,
    SweepSpec,
    expand,
    pack,
    run_sweep,
    write_rows_csv,
)

TINY = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)
BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=TINY,
    train=TrainSpec(steps=20, eval_every=10),
    members=members_from(seed=0, lr=3e-3, weight_decay=0.5),
)
MICRO = SweepSpec(BASE, grid={"train_fraction": [0.4, 0.6], "seed": [0, 1]})


class CountingBackend(LocalBackend):
    """The local backend, remembering which populations it was asked to train."""

    def __init__(self) -> None:
        super().__init__()
        self.trained: list[str] = []

    def run(self, specs, **kwargs):
        self.trained += [spec.run_id for spec in specs]
        return super().run(specs, **kwargs)


def metric_rows(root) -> int:
    with sqlite3.connect(root / "runs.sqlite") as conn:
        return conn.execute("SELECT count(*) FROM metrics").fetchone()[0]


def test_micro_sweep_gives_4_rows_with_grid_values_from_1_population(tmp_path):
    result = run_sweep(MICRO, tmp_path)
    assert [(r["train_fraction"], r["seed"]) for r in result.rows] == [
        (0.4, 0),
        (0.4, 1),
        (0.6, 0),
        (0.6, 1),
    ]
    assert len({r["run_id"] for r in result.rows}) == 1
    assert [r["member"] for r in result.rows] == [0, 1, 2, 3]
    row = result.rows[0]
    assert list(row)[2:] == [
        "run_id",
        "member",
        "steps_to_train",
        "steps_to_val",
        "final_train_acc",
        "final_val_acc",
        "best_val_acc",
        "final_weight_norm",
        "steps_done",
    ]
    assert row["steps_done"] == 20 and 0 <= row["final_val_acc"] <= row["best_val_acc"] <= 1
    assert row["final_weight_norm"] > 0


def test_each_row_describes_the_member_trained_with_its_grid_values(tmp_path):
    result = run_sweep(MICRO, tmp_path)
    store = RunStore(tmp_path)
    for row in result.rows:
        spec = store.read_members(row["run_id"])[row["member"]]["spec"]
        assert (spec["train_fraction"], spec["seed"]) == (row["train_fraction"], row["seed"])
        curves = store.read_curves(row["run_id"])
        assert row["final_val_acc"] == curves["val_acc"][row["member"], -1]


def test_second_run_of_a_sweep_trains_nothing_and_gives_equal_rows(tmp_path):
    first = run_sweep(MICRO, tmp_path)
    checkpoints = sorted((tmp_path / "checkpoints").glob("*.pt"))
    mtimes, n_rows = [p.stat().st_mtime_ns for p in checkpoints], metric_rows(tmp_path)
    backend = CountingBackend()
    second = run_sweep(MICRO, tmp_path, backend=backend)
    assert backend.trained == []
    assert [p.stat().st_mtime_ns for p in checkpoints] == mtimes
    assert metric_rows(tmp_path) == n_rows
    for a, b in zip(first.rows, second.rows, strict=True):
        assert a.keys() == b.keys()
        assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_a_larger_sweep_trains_only_the_populations_it_does_not_share(tmp_path):
    run_sweep(MICRO, tmp_path)
    wider = SweepSpec(BASE, grid={**dict(MICRO.grid), "optim.optimizer": ["adamw", "sgd"]})
    # optimizer varies fastest here, so the adamw members come in MICRO's order
    backend = CountingBackend()
    result = run_sweep(wider, tmp_path, backend=backend)
    assert len(result.rows) == 8 and len(result.results) == 2
    assert backend.trained == [pack(expand(wider))[1].run_id]
    assert result.where(optimizer="adamw").rows[0]["run_id"] == pack(expand(MICRO))[0].run_id


def test_progress_counts_member_steps_over_the_whole_sweep(tmp_path):
    sweep = SweepSpec(BASE, grid={"seed": [0, 1, 2]}, max_members=2)  # populations of 2 and 1
    events = []
    run_sweep(sweep, tmp_path, progress=events.append)
    last = events[-1]
    assert (last.populations_done, last.populations) == (2, 2)
    assert (last.members_done, last.members) == (3, 3)
    assert last.step == last.steps == 3 * 20
    assert [e.step for e in events] == sorted(e.step for e in events)  # never goes back
    again = []
    run_sweep(sweep, tmp_path, progress=again.append)  # all reused: still ends complete
    assert again[-1] == last


def test_unknown_backend_error_is_one_line_and_lists_choices(tmp_path):
    with pytest.raises(GroklabError) as e:
        run_sweep(MICRO, tmp_path, backend="slurm")
    assert str(e.value) == "backend 'slurm' is unknown; choose one of local, ray"
    assert not (tmp_path / "runs.sqlite").exists()


ROWS = [
    {"train_fraction": 0.3, "optim.optimizer": "adamw", "seed": 0, "steps_to_val": 100.0},
    {"train_fraction": 0.3, "optim.optimizer": "adam", "seed": 0, "steps_to_val": float("nan")},
    {"train_fraction": 0.5, "optim.optimizer": "adamw", "seed": 1, "steps_to_val": 40.0},
]


def test_where_filters_rows_by_value_or_any_of_a_list_and_takes_bare_names():
    result = SweepResult(ROWS)
    assert result.where(optimizer="adamw").column("seed").tolist() == [0, 1]
    assert len(result.where(**{"optim.optimizer": "adam", "train_fraction": 0.3}).rows) == 1
    assert len(result.where(train_fraction=[0.3, 0.5], seed=0).rows) == 2
    assert result.where(seed=7).where(optimizer="adam").rows == []


def test_column_is_an_array_and_an_unknown_column_lists_the_columns():
    result = SweepResult(ROWS)
    np.testing.assert_array_equal(result.column("steps_to_val"), [100.0, np.nan, 40.0])
    assert result.column("optimizer").tolist() == ["adamw", "adam", "adamw"]
    allowed = "no column 'speed' in the sweep; allowed: train_fraction, optim.optimizer, seed"
    with pytest.raises(GroklabError, match=allowed):
        result.column("speed")


def test_grouped_collects_a_column_per_value_in_first_seen_order():
    groups = SweepResult(ROWS).grouped("train_fraction", "steps_to_val")
    assert list(groups) == [0.3, 0.5]
    np.testing.assert_array_equal(groups[0.3], [100.0, np.nan])


def test_write_rows_csv_header_is_the_union_of_keys_in_first_seen_order(tmp_path):
    path = tmp_path / "rows.csv"
    write_rows_csv([{"a": 1, "b": 2.5}, {"b": float("nan"), "c": "x"}], path)
    lines = path.read_text().splitlines()
    assert lines == ["a,b,c", "1,2.5,", ",nan,x"]
    assert list(csv.DictReader(path.open()))[1] == {"a": "", "b": "nan", "c": "x"}
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]  # no temp file left


def test_write_rows_csv_into_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(GroklabError, match="does not exist"):
        write_rows_csv(ROWS, tmp_path / "nope" / "rows.csv")
