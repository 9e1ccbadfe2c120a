"""The run store: one SQLite file holding specs, per-member measures and summaries.

Layout of a store directory: `runs.sqlite` (WAL mode, so readers never block the one process
that writes a run), `checkpoints/<run id>.pt` (the resume point) and
`checkpoints/<run id>/step-<step>.pt` (the checkpoint history) beside it, and
`locks/<run id>.lock`, held by the one process that writes the run (store/lock.py).

Every evaluation is stored in long form, rows of (run, member, step, name, value)
(store/schema.py): the contract METRICS, each parameter's norm as `norm/<parameter>`, and any
new measure, so recording one needs no schema change. Opening a store of schema 1 or 2
migrates it once, in one transaction.

A store this process cannot write (read-only media, another user's folder) opens read-only:
SQLite reads it with `mode=ro`, or, where WAL's shared-memory file is missing and cannot be
made, as `immutable` (no writer can be running then: a live writer keeps that file). Every
read works; a write (training, measuring) is one line naming the store (`check_writable`).

    with RunStore(tmp_path) as store:
        store.create_run("r-0123456789", spec_json, n_members=2, summary="add", members=[{}, {}])
        store.write_metrics("r-0123456789", 0, {"train_acc": [0.1, 0.2], "gini": [0.3, 0.5]})
        store.read_curves("r-0123456789")["train_acc"]       # [[0.1], [0.2]]  [M, S]
        store.read_measures("r-0123456789", ["gini"])["gini"]  # [[0.3], [0.5]]  [M, S]
        store.measure_names("r-0123456789")                  # ['gini', 'train_acc']
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from groklab.errors import GroklabError
from groklab.files import remove_stale_temp_files
from groklab.store.lock import hold_run_lock, is_held_here
from groklab.store.measures import (
    check_known,
    measure_rows,
    names_of,
    read_long,
    sql_float,
)
from groklab.store.schema import METRICS, NORM_PREFIX, SCHEMA_VERSION, create_or_migrate

STATUSES = ("created", "running", "interrupted", "done", "failed")
SUMMARY_COLUMNS = ("steps_to_train_99", "steps_to_val_99")
BUSY_TIMEOUT_MS = 30_000

_KEPT = re.compile(r"step-(\d+)\.pt")
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_INSERT = "INSERT OR REPLACE INTO measures (run_id, name, step, member, value)"


def default_store_root() -> Path:
    """`$GROKLAB_STORE` if set, else `./groklab-runs`."""
    return Path(os.environ.get("GROKLAB_STORE") or "groklab-runs")


def is_writable(root: Path) -> bool:
    """Whether this process may write the store at `root`: its folder (where SQLite keeps the
    WAL beside the database) and its database file. A read-only mount is unwritable even for
    root; mode bits are not, for root."""
    db = root / "runs.sqlite"
    return os.access(root, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


@dataclass(frozen=True)
class RunRecord:
    """One row of the `runs` table; `step` is the last step the run has completed."""

    run_id: str
    spec_json: str
    n_members: int
    status: str
    step: int
    created: str
    updated: str
    summary: str


class RunStore:
    """A store directory; only the process that owns a run writes it, any process may read.

    Runs and members: `create_run`, `get_run`, `list_runs`, `resolve`, `set_status`,
    `set_member_summary`, `read_members`. Measures, one [M] vector per (name, step):
    `write_metrics` (any name), `write_layer_norms` (as `norm/<parameter>`), `truncate_metrics`,
    `measure_names`, `read_measures`, `read_curves` (the six METRICS), `read_layer_norms`.
    Checkpoints: `checkpoint_path` (the resume point), `kept_checkpoint_path`, `kept_checkpoints`.
    Writers: `run_lock` (one process writes a run at a time; `lock_path`); every method that
    writes a run's rows holds its lock, the caller's or its own for that write.
    """

    def __init__(self, root: str | Path, *, read_only: bool | None = None) -> None:
        """`read_only`: None opens an existing store read-only where this process cannot
        write it (`is_writable`), else read-write (creating it if missing)."""
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise GroklabError(f"store {self.root} is a file; --store must be a directory")
        self.path = self.root / "runs.sqlite"
        if read_only is None:
            read_only = self.path.is_file() and not is_writable(self.root)
        self.read_only = read_only
        try:
            if not read_only:
                (self.root / "checkpoints").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GroklabError(f"cannot create store {str(self.root)!r}: {e.strerror}") from None
        try:
            self._conn = _connect_read_only(self.path) if read_only else _connect(self.path)
        except sqlite3.Error as e:
            raise GroklabError(f"cannot open store {self.path} ({e})") from None
        try:
            self._open()
        except GroklabError:
            self._conn.close()
            raise
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise GroklabError(f"store {self.path} is not a groklab store ({e})") from None
        self._settle_finished()

    def _open(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise GroklabError(
                f"store {self.path} has schema version {version}; this groklab reads versions "
                f"up to {SCHEMA_VERSION} (upgrade groklab)"
            )
        if self.read_only:
            if version < SCHEMA_VERSION:
                raise GroklabError(
                    f"store {self.path} has schema version {version} and is read-only; this "
                    f"groklab reads version {SCHEMA_VERSION}, which it makes in a writable store"
                )
            return
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: no corruption on crash
        if version < SCHEMA_VERSION:  # a fresh store, or an older one to migrate (once)
            try:
                with self._transaction() as conn:
                    create_or_migrate(conn)
            except sqlite3.OperationalError as e:
                raise GroklabError(
                    f"store {self.path} has schema version {version} and could not be brought "
                    f"to version {SCHEMA_VERSION} ({e})"
                ) from None

    def _settle_finished(self) -> None:
        """Mark done each run left "running" whose resume point says it is done: its writer
        was killed between the final checkpoint and the status write. A run another process
        writes, a damaged checkpoint or a store that cannot be written is left as it is."""
        from groklab.store.checkpoint import load_run_checkpoint

        if self.read_only:
            return
        running = self._conn.execute("SELECT run_id FROM runs WHERE status = 'running'")
        for (run_id,) in running.fetchall():
            path, lock = self.checkpoint_path(run_id), self.lock_path(run_id)
            if not path.exists() or is_held_here(lock):
                continue
            try:
                with hold_run_lock(lock, run_id):
                    saved = load_run_checkpoint(path, run_id, mmap=True)
                    if saved.get("done") is True:
                        self.set_status(run_id, "done", int(saved["step"]))
            except (GroklabError, OSError, sqlite3.Error):
                continue

    def check_writable(self) -> None:
        """A one-line GroklabError where the store is open read-only."""
        if self.read_only:
            raise GroklabError(
                f"store {self.root} is read-only (this process cannot write it); runs, curves, "
                "plot and report read it, but training or measuring needs a writable store"
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A write (IMMEDIATE) or a consistent read snapshot (DEFERRED)."""
        if mode != "DEFERRED":
            self.check_writable()
        self._conn.execute(f"BEGIN {mode}")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        spec_json: str,
        *,
        n_members: int,
        summary: str,
        members: Sequence[dict],
    ) -> bool:
        """Insert the run and its members unless it exists; True if it was newly created."""
        _check_run_id(run_id)
        if len(members) != n_members:
            raise GroklabError(f"run {run_id}: got {len(members)} member specs for {n_members=}")
        now = _now()
        with self._writing(run_id), self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, 'created', 0, ?, ?, ?)",
                (run_id, spec_json, n_members, now, now, summary),
            )
            if cursor.rowcount == 0:
                return False
            conn.executemany(
                "INSERT INTO members (run_id, idx, spec_json) VALUES (?, ?, ?)",
                [(run_id, i, json.dumps(m, sort_keys=True)) for i, m in enumerate(members)],
            )
        return True

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return RunRecord(*row) if row else None

    def list_runs(self) -> list[RunRecord]:
        """All runs, newest first."""
        rows = self._conn.execute("SELECT * FROM runs ORDER BY created DESC, rowid DESC")
        return [RunRecord(*row) for row in rows]

    def resolve(self, prefix: str) -> str:
        """The full run id from a unique prefix; `r-abc/3` (a member) resolves to its run."""
        run_prefix = prefix.split("/", 1)[0]
        if not run_prefix:
            raise GroklabError(f"run id {prefix!r} is empty; give a run id or a unique prefix")
        ids = [
            row[0]
            for row in self._conn.execute(
                "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id",
                (len(run_prefix), run_prefix),
            )
        ]
        if run_prefix in ids:
            return run_prefix
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise GroklabError(f"no run matches {prefix!r} in {self.root} (see `groklab runs`)")
        shown = ", ".join(ids[:4]) + (f", ... ({len(ids)} in all)" if len(ids) > 4 else "")
        raise GroklabError(f"run id {prefix!r} is ambiguous: matches {shown}")

    def set_status(self, run_id: str, status: str, step: int) -> None:
        if status not in STATUSES:
            raise GroklabError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._writing(run_id), self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, step = ?, updated = ? WHERE run_id = ?",
                (status, int(step), _now(), run_id),
            )
            if cursor.rowcount == 0:
                raise GroklabError(f"no run {run_id!r} in {self.root}")

    def checkpoint_path(self, run_id: str) -> Path:
        _check_run_id(run_id)
        return self.root / "checkpoints" / f"{run_id}.pt"

    def lock_path(self, run_id: str) -> Path:
        """The run's lock file (store/lock.py): held by the one process writing the run."""
        _check_run_id(run_id)
        return self.root / "locks" / f"{run_id}.lock"

    @contextmanager
    def run_lock(self, *run_ids: str) -> Iterator[None]:
        """Hold the lock of each run (re-entrant in this process) for the block; if another
        process writes one of them: RunLockedError naming the run and its owner, and none held.

            with store.run_lock(spec.run_id):
                ...  # only this process writes the run here
        """
        self.check_writable()
        with ExitStack() as held:
            for run_id in dict.fromkeys(run_ids):
                held.enter_context(hold_run_lock(self.lock_path(run_id), run_id))
            yield

    @contextmanager
    def _writing(self, run_id: str) -> Iterator[None]:
        """Every write of a run's rows holds its lock: the caller's (a trainer, a sweep's
        driver, `groklab measure` hold it for their whole work), else one taken for this write,
        so no writer, whatever its path here, changes a run another process is writing."""
        self.check_writable()
        if is_held_here(self.lock_path(run_id)):
            yield
            return
        with hold_run_lock(self.lock_path(run_id), run_id):
            yield

    def kept_checkpoint_path(self, run_id: str, step: int) -> Path:
        """Where the checkpoint history keeps the full state at `step` (beside the resume point)."""
        _check_run_id(run_id)
        return self.root / "checkpoints" / run_id / f"step-{int(step):09d}.pt"

    def remove_stale_temp_files(self, run_id: str) -> list[Path]:
        """The half-written checkpoint files of `run_id` that a writer killed during a save
        left behind (its resume point's and its kept ones'); a live writer's are kept."""
        folder = self.root / "checkpoints"
        removed = remove_stale_temp_files(folder, f".{run_id}.pt.*.tmp", recursive=False)
        return removed + remove_stale_temp_files(folder / run_id)

    def kept_checkpoints(self, run_id: str) -> dict[int, Path]:
        """The run's kept checkpoints, step -> path, by step (empty if it keeps none)."""
        _check_run_id(run_id)
        folder = self.root / "checkpoints" / run_id
        found = (_KEPT.fullmatch(f.name) for f in folder.glob("step-*.pt"))
        return {
            int(m.group(1)): folder / m.group(0)
            for m in sorted(filter(None, found), key=lambda m: int(m.group(1)))
        }

    # -- measures -----------------------------------------------------------------------------

    def write_metrics(self, run_id: str, step: int, metrics: Mapping[str, Any]) -> None:
        """Each measure's value per member at `step`, name -> [M]: the contract METRICS,
        `norm/<parameter>` or any new name; re-writing a (step, name) replaces its values."""
        rows = measure_rows(run_id, step, metrics, self._n_members(run_id))
        with self._writing(run_id), self._transaction() as conn:
            conn.executemany(f"{_INSERT} VALUES (?, ?, ?, ?, ?)", rows)

    def write_layer_norms(self, run_id: str, step: int, norms: Mapping[str, Any]) -> None:
        """The L2 norm of each parameter tensor (name -> [M]) at `step` (Omnigrok's per-layer
        weight norms), stored as the measure `norm/<name>`; re-writing a step replaces it."""
        self.write_metrics(run_id, step, {NORM_PREFIX + name: v for name, v in norms.items()})

    def truncate_metrics(self, run_id: str, after_step: int) -> None:
        """Delete every measure with step > after_step (a resumed run re-records those steps)."""
        with self._writing(run_id), self._transaction() as conn:
            conn.execute(
                "DELETE FROM measures WHERE run_id = ? AND step > ?", (run_id, int(after_step))
            )

    def measure_names(self, run_id: str) -> list[str]:
        """Every measure the run has recorded, sorted (metrics, `norm/...` and the rest)."""
        with self._transaction("DEFERRED") as conn:
            self._n_members(run_id)
            return names_of(conn, run_id)

    def read_measures(
        self, run_id: str, names: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """{"step": [S] int64, each name: [M, S] float64}, names in the order given (all the
        run's, sorted, if None), steps those names were recorded at; NaN where missing.
        A name the run has not recorded is an error, except the contract METRICS."""
        with self._transaction("DEFERRED") as conn:  # one snapshot, even while a writer commits
            n_members = self._n_members(run_id)
            known = names_of(conn, run_id)
            names = known if names is None else list(dict.fromkeys(names))
            check_known(run_id, [n for n in names if n not in METRICS], known)
            return read_long(conn, run_id, names, n_members)

    def read_curves(self, run_id: str) -> dict[str, np.ndarray]:
        """{"step": [S] int64, each metric: [M, S] float64}, sorted by step; NaN where missing."""
        return self.read_measures(run_id, METRICS)

    def read_layer_norms(self, run_id: str) -> dict[str, np.ndarray]:
        """{"step": [S] int64, each parameter name: [M, S] float64}; names sorted."""
        with self._transaction("DEFERRED") as conn:
            n_members = self._n_members(run_id)
            names = [n for n in names_of(conn, run_id) if n.startswith(NORM_PREFIX)]
            norms = read_long(conn, run_id, names, n_members)
        return {k.removeprefix(NORM_PREFIX): v for k, v in norms.items()}

    def _n_members(self, run_id: str) -> int:
        row = self._conn.execute(
            "SELECT n_members FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise GroklabError(f"no run {run_id!r} in {self.root} (see `groklab runs`)")
        return int(row[0])

    # -- members ------------------------------------------------------------------------------

    def set_member_summary(self, run_id: str, idx: int, **values: float | None) -> None:
        """Set summary columns (steps_to_train_99, steps_to_val_99); None or nan = never."""
        unknown = sorted(set(values) - set(SUMMARY_COLUMNS))
        if unknown:
            raise GroklabError(
                f"unknown member summary {unknown[0]!r}; allowed: {', '.join(SUMMARY_COLUMNS)}"
            )
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        params = [None if v is None else sql_float(v) for v in values.values()]
        with self._writing(run_id), self._transaction() as conn:
            cursor = conn.execute(
                f"UPDATE members SET {assignments} WHERE run_id = ? AND idx = ?",
                (*params, run_id, int(idx)),
            )
            if cursor.rowcount == 0:
                raise GroklabError(f"no member {run_id}/{idx} in {self.root}")

    def read_members(self, run_id: str) -> list[dict]:
        """[{"member": "r-.../0", "idx": 0, "spec": {...}, "steps_to_train_99": float | None,
        "steps_to_val_99": float | None}, ...] by index; None = not reached or not recorded."""
        rows = self._conn.execute(
            f"SELECT idx, spec_json, {', '.join(SUMMARY_COLUMNS)} FROM members "
            "WHERE run_id = ? ORDER BY idx",
            (run_id,),
        )
        return [
            {"member": f"{run_id}/{idx}", "idx": idx, "spec": json.loads(spec)}
            | dict(zip(SUMMARY_COLUMNS, summary, strict=True))
            for idx, spec, *summary in rows
        ]


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is explicit.
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """`path` opened for reading only: `mode=ro` reads the WAL through its shared-memory file
    (-shm), which it makes if missing; where it cannot (a read-only folder without one, so no
    writer is live), `immutable=1` reads the database file alone."""
    uri = "file:" + urllib.parse.quote(str(path.absolute()))
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.OperationalError:
        pass
    else:
        try:
            conn.execute("PRAGMA schema_version")  # SQLite opens the file at the first statement
            return conn
        except sqlite3.OperationalError:
            conn.close()
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:  # rows immutable mode would not see
        raise GroklabError(
            f"store {path.parent} is read-only and {wal.name} holds writes that SQLite reads "
            f"only through {path.name}-shm, which is missing; copy the store to a writable place"
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def _check_run_id(run_id: str) -> None:
    if not _RUN_ID.fullmatch(run_id):
        raise GroklabError(f"run id {run_id!r} is not allowed; use letters, digits, '-', '_', '.'")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
