"""The store's SQLite schema (version 3) and the migration of older stores to it.

Version 3 keeps every evaluation in long form, one row per (run, member, step, name):

    measures(run_id, name, step, member, value)    WITHOUT ROWID, primary key in that order

so a new measure needs no schema change. Names: the six contract metrics (`METRICS`), each
parameter tensor's L2 norm as `norm/<parameter>` (`norm/blocks.0.attn.W_Q`), and any other
measure a caller records (`softmax_collapse`). A value that was not a number is NULL.

The key order (name before step and member) makes reading a few names of a run a handful of
range scans. For 8 members x 1,000 evaluations x 30 names (benchmarks/bench_store.py), with
(run_id, name, step, member): an evaluation's write 1.2 ms, `read_curves` 37 ms (schema 2's wide
table: 13 ms), `read_layer_norms` 170 ms (schema 2: 550 ms); with (run_id, member, step, name)
reading the six metrics scanned every row of the run (75 ms in raw SQL against 35 ms), and
(run_id, name, member, step) wrote 3x slower (a leaf page per (name, member) each evaluation).

Two read-only views keep the version-2 tables' shape for SQL users: `metrics` (one row per
(run, member, step), a column per contract metric) and `layer_norms` (name without `norm/`).

Versions: 1 had `runs`, `members` and a wide `metrics` table; 2 added `layer_norms`; 3 moved
both into `measures`. Opening an older store migrates it in one transaction, losing nothing.
"""

from __future__ import annotations

import sqlite3

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "weight_norm", "lr")
NORM_PREFIX = "norm/"
NORM_END = "norm0"  # the smallest string above every `norm/...` name ('0' follows '/')
SCHEMA_VERSION = 3

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, spec_json TEXT NOT NULL, n_members INTEGER NOT NULL,
    status TEXT NOT NULL, step INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    run_id TEXT NOT NULL REFERENCES runs(run_id), idx INTEGER NOT NULL, spec_json TEXT NOT NULL,
    steps_to_train_99 REAL, steps_to_val_99 REAL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS measures (
    run_id TEXT NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL, member INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name, step, member)
) WITHOUT ROWID;
"""
_METRICS_NAMES = ", ".join(f"'{name}'" for name in METRICS)
_VIEWS = f"""
CREATE VIEW metrics AS SELECT run_id, member, step,
    {", ".join(f"max(CASE WHEN name = '{n}' THEN value END) AS {n}" for n in METRICS)}
FROM measures WHERE name IN ({_METRICS_NAMES}) GROUP BY run_id, member, step;
CREATE VIEW layer_norms AS SELECT run_id, member, step,
    substr(name, {len(NORM_PREFIX) + 1}) AS name, value
FROM measures WHERE name >= '{NORM_PREFIX}' AND name < '{NORM_END}'
"""


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Bring the store to SCHEMA_VERSION; call inside an IMMEDIATE transaction.

    Re-checks the version under the write lock: another process may have done it meanwhile.
    A fresh file (version 0) gets the schema; a version-1 or -2 store gets its wide `metrics`
    and its `layer_norms` rows copied into `measures`, then those tables give way to the views.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    tables = _tables(conn)
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    if "metrics" in tables:
        for name in METRICS:
            conn.execute(
                "INSERT INTO measures (run_id, name, step, member, value) "
                f"SELECT run_id, ?, step, member, {name} FROM metrics",
                (name,),
            )
        conn.execute("DROP TABLE metrics")
    if "layer_norms" in tables:
        conn.execute(
            "INSERT INTO measures (run_id, name, step, member, value) "
            "SELECT run_id, ? || name, step, member, value FROM layer_norms",
            (NORM_PREFIX,),
        )
        conn.execute("DROP TABLE layer_norms")
    for statement in _VIEWS.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}
