"""Tests for src/groklab/bench/run.py and report.py: a micro benchmark end to end, reused from
the store the second time, its numbers read back from the runs' own curves."""

import csv
import json
import math

import numpy as np
import pytest

from groklab.analysis import steps_to_threshold
from groklab.bench import bench_spec, get_method, get_task, km_median, run_bench, write_bench
from groklab.bench.run import TIMES_FILE
from groklab.store import RunStore

TASKS = ["prieto-add", "nanda-add"]
METHODS = ["adamw", "orthograd", "egd"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    out = root / "out"
    out.mkdir()
    result = run_bench(TASKS, METHODS, size="micro", seeds=2, store_root=root / "store",
                       out_dir=out)  # fmt: skip
    return root, out, result


def test_each_cell_is_one_population_of_its_seeds_and_rows_come_from_its_curves(bench):
    root, _, result = bench
    assert len(result.rows) == len(TASKS) * len(METHODS) * 2
    with RunStore(root / "store") as store:
        for task in TASKS:
            for method in METHODS:
                spec = bench_spec(get_task(task), get_method(method), "micro", seeds=range(2))
                rows = [r for r in result.rows if (r["task"], r["method"]) == (task, method)]
                assert {r["run_id"] for r in rows} == {spec.run_id}
                curves = store.read_curves(spec.run_id)
                for r in rows:
                    m = r["member"]
                    want = steps_to_threshold(curves["step"], curves["val_acc"][m], 0.99)
                    assert r["steps_to_val_99"] == want or (
                        math.isnan(want) and math.isnan(r["steps_to_val_99"])
                    )
                    assert (
                        r["final_val_acc"]
                        == curves["val_acc"][m][np.isfinite(curves["val_acc"][m])][-1]
                    )
                summary = result.summary(task, method)
                values = [r["steps_to_val_99"] for r in rows]
                assert summary.steps[0.99].value == km_median(values, summary.budget)
                assert summary.reached[0.99] == sum(np.isfinite(values))


def test_the_one_hot_mlp_memorizes_within_the_micro_budget(bench):
    _, _, result = bench
    rows = [r for r in result.rows if r["task"] == "prieto-add" and r["method"] == "adamw"]
    assert all(r["steps_to_train_99"] <= 30 for r in rows)  # memorized: the run really trains


def test_every_trained_population_has_its_wall_clock_and_throughput(bench):
    _, out, result = bench
    times = json.loads((out / TIMES_FILE).read_text())
    for r in result.rows:
        assert times[r["run_id"]]["steps"] == r["steps_done"]
        assert r["population_wall_s"] == times[r["run_id"]]["seconds"] > 0
        assert r["population_member_steps_per_s"] == pytest.approx(
            2 * r["steps_done"] / r["population_wall_s"]
        )


def test_a_second_run_trains_nothing_and_gives_the_same_rows(bench):
    root, out, result = bench
    before = (out / TIMES_FILE).read_text()
    again = run_bench(TASKS, METHODS, size="micro", seeds=2, store_root=root / "store",
                      out_dir=out)  # fmt: skip
    assert (out / TIMES_FILE).read_text() == before  # nothing trained, nothing timed
    assert again.rows == result.rows or all(
        a.keys() == b.keys() for a, b in zip(again.rows, result.rows, strict=True)
    )
    for a, b in zip(again.rows, result.rows, strict=True):
        for key in a:
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key


def test_the_outputs_hold_a_table_per_task_and_a_row_per_seed(bench):
    _, out, result = bench
    paths = write_bench(result, out, command="groklab bench --micro")
    assert [p.name for p in paths] == ["bench.md", "bench.csv", "bench.png"]
    md = (out / "bench.md").read_text()
    assert md.count("\n## ") == len(TASKS) + 1  # one per task, then how each method was set
    assert "**adamw** (baseline)" in md and "Machine: " in md and "load average" in md
    with open(out / "bench.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.rows)
    assert list(rows[0])[:4] == ["task", "size", "method", "seed"]
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
