"""Tests for src/groklab/store/schema.py: schema 3 and the migration of schema 1 and 2 stores.

fixtures/store_v2/runs.sqlite is a store written by the last schema-2 code
(fixtures/make_store_v2.sh says how); each test migrates a copy of it.
"""

import contextlib
import io
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from groklab.cli import main
from groklab.errors import GroklabError
from groklab.store import METRICS, SCHEMA_VERSION, RunStore, schema

FIXTURE = Path(__file__).parent / "fixtures" / "store_v2"
ADD_RUN, SUB_RUN = "r-37a52f6779", "r-f95c5d9d8c"  # the fixture's runs; their ids are pinned
ADD_FLAGS = ["--op", "add", "--p", "7", "--model", "mlp", "--d-model", "8", "--d-mlp", "16"]
ADD_FLAGS += ["--n-layers", "1", "--eval-every", "10", "--steps", "40", "--seeds", "0-1"]


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(FIXTURE, root)
    (root / "checkpoints").mkdir(exist_ok=True)  # git keeps no empty folder
    return root


def dump(root: Path, sql: str) -> list[tuple]:
    """Rows of `sql` read with plain sqlite3, as the schema-2 code saw them."""
    with contextlib.closing(sqlite3.connect(root / "runs.sqlite")) as conn:
        return conn.execute(sql).fetchall()


def old_tables(root: Path) -> dict[str, list[tuple]]:
    return {
        "runs": dump(root, "SELECT * FROM runs ORDER BY run_id"),
        "members": dump(root, "SELECT * FROM members ORDER BY run_id, idx"),
        "metrics": dump(root, "SELECT * FROM metrics ORDER BY run_id, member, step"),
        "layer_norms": dump(root, "SELECT * FROM layer_norms ORDER BY run_id, member, step, name"),
    }


def run_main(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        return main(argv), out.getvalue()


def test_the_fixture_is_a_version_2_store_with_both_runs():
    assert dump(FIXTURE, "PRAGMA user_version") == [(2,)]
    assert [r[0] for r in dump(FIXTURE, "SELECT run_id FROM runs ORDER BY run_id")] == [
        ADD_RUN,
        SUB_RUN,
    ]


def test_opening_a_version_2_store_migrates_it_and_every_value_survives(tmp_path):
    root = copy_fixture(tmp_path)
    before = old_tables(root)
    with RunStore(root) as store:
        assert dump(root, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        for run_id, spec_json, n_members, status, step, created, updated, summary in before["runs"]:
            record = store.get_run(run_id)
            assert (record.spec_json, record.n_members, record.status) == (
                spec_json,
                n_members,
                status,
            )
            assert (record.step, record.created, record.updated) == (step, created, updated)
            assert record.summary == summary
        for run_id, idx, spec_json, to_train, to_val in before["members"]:
            member = store.read_members(run_id)[idx]
            assert member["spec"] == json.loads(spec_json)
            assert (member["steps_to_train_99"], member["steps_to_val_99"]) == (to_train, to_val)
        for run_id, member, step, *values in before["metrics"]:
            curves = store.read_curves(run_id)
            j = int(np.flatnonzero(curves["step"] == step)[0])
            got = [curves[name][member, j] for name in METRICS]
            np.testing.assert_array_equal(got, np.array(values, dtype=np.float64))
        for run_id, member, step, name, value in before["layer_norms"]:
            norms = store.read_layer_norms(run_id)
            assert norms[name][member, list(norms["step"]).index(step)] == value
    # the views give back the old tables row for row, and the old ones are gone
    assert old_tables(root) == before
    kinds = dict(dump(root, "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite%'"))
    assert kinds == {
        "runs": "table",
        "members": "table",
        "measures": "table",
        "metrics": "view",
        "layer_norms": "view",
    }


def test_a_migrated_store_counts_exactly_the_old_rows_in_long_form(tmp_path):
    root = copy_fixture(tmp_path)
    before = old_tables(root)
    RunStore(root).close()
    n_long = dump(root, "SELECT count(*) FROM measures")[0][0]
    assert n_long == len(before["metrics"]) * len(METRICS) + len(before["layer_norms"])
    names = {r[0] for r in dump(root, "SELECT DISTINCT name FROM measures")}
    assert names == set(METRICS) | {f"norm/{r[3]}" for r in before["layer_norms"]}


def test_opening_a_migrated_store_again_changes_nothing(tmp_path):
    root = copy_fixture(tmp_path)
    RunStore(root).close()
    once = dump(root, "SELECT * FROM measures ORDER BY run_id, name, step, member")
    with RunStore(root) as store:
        assert store.measure_names(SUB_RUN)[:2] == ["lr", "norm/W_E"]
    assert dump(root, "SELECT * FROM measures ORDER BY run_id, name, step, member") == once


def test_a_failed_migration_leaves_the_version_2_store_as_it_was(tmp_path, monkeypatch):
    root = copy_fixture(tmp_path)
    before = old_tables(root)
    monkeypatch.setattr(schema, "_VIEWS", "CREATE VIEW broken AS SELEKT 1")
    with pytest.raises(GroklabError, match="schema version 2 and could not be brought") as err:
        RunStore(root)
    assert "\n" not in str(err.value)
    assert dump(root, "PRAGMA user_version") == [(2,)]
    assert old_tables(root) == before
    assert "measures" not in {r[0] for r in dump(root, "SELECT name FROM sqlite_master")}


def test_training_a_done_run_of_a_migrated_store_reports_it_done_and_keeps_its_values(tmp_path):
    # The fixture keeps no checkpoints (too large); the same spec trained afresh gives the one
    # that the run's owner would have, and with it the run is done.
    fresh, root = tmp_path / "fresh", copy_fixture(tmp_path)
    assert run_main(["train", *ADD_FLAGS, "--store", str(fresh)])[0] == 0
    shutil.copy(fresh / "checkpoints" / f"{ADD_RUN}.pt", root / "checkpoints" / f"{ADD_RUN}.pt")
    before = old_tables(root)
    status, out = run_main(["train", *ADD_FLAGS, "--store", str(root)])
    assert status == 0 and out.startswith(f"run {ADD_RUN}: ")
    assert f"run {ADD_RUN} is already done at step 40; nothing to train" in out
    assert old_tables(root) == before  # no evaluation redone, no summary changed


def make_v1_store(root: Path) -> None:
    """A schema-1 store as that code made it: runs, members, a wide metrics table."""
    root.mkdir()
    with contextlib.closing(sqlite3.connect(root / "runs.sqlite")) as conn:
        conn.executescript(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, spec_json TEXT NOT NULL, n_members "
            "INTEGER NOT NULL, status TEXT NOT NULL, step INTEGER NOT NULL, created TEXT NOT "
            "NULL, updated TEXT NOT NULL, summary TEXT NOT NULL);"
            "CREATE TABLE members (run_id TEXT NOT NULL REFERENCES runs(run_id), idx INTEGER "
            "NOT NULL, spec_json TEXT NOT NULL, steps_to_train_99 REAL, steps_to_val_99 REAL, "
            "PRIMARY KEY (run_id, idx));"
            "CREATE TABLE metrics (run_id TEXT NOT NULL, member INTEGER NOT NULL, step INTEGER "
            f"NOT NULL, {', '.join(f'{n} REAL' for n in METRICS)}, "
            "PRIMARY KEY (run_id, member, step)) WITHOUT ROWID;"
            "INSERT INTO runs VALUES ('r-0000000001', '{}', 2, 'done', 20, 't0', 't1', 'old');"
            "INSERT INTO members VALUES ('r-0000000001', 0, '{\"seed\": 0}', 10, NULL);"
            "INSERT INTO members VALUES ('r-0000000001', 1, '{\"seed\": 1}', NULL, NULL);"
            "INSERT INTO metrics VALUES ('r-0000000001', 0, 0, 2.5, 0.25, 2.75, 0.0, 9.5, 0.001);"
            "INSERT INTO metrics VALUES ('r-0000000001', 1, 0, 2.0, 0.5, NULL, 0.0, 9.0, 0.001);"
            "INSERT INTO metrics VALUES ('r-0000000001', 0, 20, 0.5, 1.0, 3.0, 0.5, 8.5, 0.001);"
            "PRAGMA user_version = 1;"
        )


def test_opening_a_version_1_store_migrates_its_curves_and_members(tmp_path):
    make_v1_store(tmp_path / "v1")
    with RunStore(tmp_path / "v1") as store:
        curves = store.read_curves("r-0000000001")
        assert curves["step"].tolist() == [0, 20]
        np.testing.assert_array_equal(curves["train_loss"], [[2.5, 0.5], [2.0, np.nan]])
        np.testing.assert_array_equal(curves["val_loss"], [[2.75, 3.0], [np.nan, np.nan]])
        np.testing.assert_array_equal(curves["lr"], [[0.001, 0.001], [0.001, np.nan]])
        assert [m["steps_to_train_99"] for m in store.read_members("r-0000000001")] == [10, None]
        assert store.read_layer_norms("r-0000000001")["step"].size == 0
        assert store.get_run("r-0000000001").status == "done"
    assert dump(tmp_path / "v1", "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_fresh_store_has_the_long_table_keyed_by_run_name_step_member(tmp_path):
    RunStore(tmp_path).close()
    key = dump(tmp_path, "SELECT name FROM pragma_index_info('sqlite_autoindex_measures_1')")
    assert [k[0] for k in key] == ["run_id", "name", "step", "member"]


def test_migrating_under_the_lock_after_another_process_did_changes_nothing(tmp_path):
    root = copy_fixture(tmp_path)
    RunStore(root).close()  # the other process migrated first
    once = dump(root, "SELECT * FROM measures ORDER BY run_id, name, step, member")
    with contextlib.closing(sqlite3.connect(root / "runs.sqlite", isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")  # what a second opener does once it gets the lock
        schema.create_or_migrate(conn)
        conn.execute("COMMIT")
    assert dump(root, "SELECT * FROM measures ORDER BY run_id, name, step, member") == once


def test_groklab_runs_reads_a_version_2_store_with_its_best_validation_accuracy(tmp_path):
    root = copy_fixture(tmp_path)
    best = dict(dump(root, "SELECT run_id, max(val_acc) FROM metrics GROUP BY run_id"))
    status, out = run_main(["runs", "--store", str(root)])
    assert status == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows.keys() == {ADD_RUN, SUB_RUN}
    for run_id, row in rows.items():
        assert row[1] == "done" and float(row[4]) == round(best[run_id], 3)
