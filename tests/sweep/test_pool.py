"""Worker processes (`--workers N`) that fail cleanly (issue 13 item 4), with real kills.

The driver runs in a subprocess where a test kills it (kill -9, Ctrl-C); where the test kills
a worker, the driver is this process and a mirror sink finds and kills the worker.
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.events import BaseSink
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.sweep import SweepSpec, expand, pack, run_sweep
from groklab.sweep.backend import LocalBackend
from groklab.sweep.remote import SCRATCH_PREFIX, remove_stale_scratch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=300, eval_every=10),
    members=members_from(seed=0),
)
SWEEP = SweepSpec(BASE, grid={"optim.optimizer": ["adamw", "adam"], "seed": [0, 1]})


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def workers_of(pid: int) -> list[int]:
    """`pid`'s worker processes: spawned children other than multiprocessing's tracker."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing-fork" in cmdline and b"resource_tracker" not in cmdline:
            found.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def scratch_of(pids) -> list[Path]:
    tmp = Path(tempfile.gettempdir())
    return [p for pid in pids for p in tmp.glob(f"{SCRATCH_PREFIX}{pid}-*")]


class Starts(BaseSink):
    """A mirror in the driver: records each attempt's start."""

    def __init__(self) -> None:
        self.starts = []

    def on_start(self, run, step):
        self.starts.append((run.run_id, step))


def test_a_killed_worker_is_retried_and_the_sweep_equals_the_in_process_one(tmp_path, monkeypatch):
    # The worker training population 0 is killed (-9) right after it streams its step-10
    # evaluation, so the kill lands on a worker mid-training whatever the schedule
    # (tests/sweep/dying_worker.py).
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # the workers import the helper
    import dying_worker

    mark = tmp_path / "killed.pid"
    monkeypatch.setenv(dying_worker.MARK, str(mark))
    monkeypatch.setattr("groklab.sweep.pool.worker_main", dying_worker.main)
    recorder = Starts()
    pooled = run_sweep(SWEEP, tmp_path / "pool", backend=LocalBackend(workers=2, sinks=[recorder]))
    inline = run_sweep(SWEEP, tmp_path / "inline")
    killed = int(mark.read_text())
    first, second = (p.run_id for p in pack(expand(SWEEP), SWEEP.max_members))
    # population 0 started twice, from step 0 both times (no checkpoint was streamed)
    assert sorted(recorder.starts) == sorted([(first, 0), (first, 0), (second, 0)])
    assert not alive(killed)
    pool_store, inline_store = RunStore(tmp_path / "pool"), RunStore(tmp_path / "inline")
    assert {r.status for r in pool_store.list_runs()} == {"done"}
    for run in inline_store.list_runs():
        expected, got = inline_store.read_curves(run.run_id), pool_store.read_curves(run.run_id)
        for name, values in expected.items():
            assert np.array_equal(values, got[name], equal_nan=True), name
    assert [r["run_id"] for r in pooled.rows] == [r["run_id"] for r in inline.rows]
    assert not scratch_of([killed])  # the driver removed the dead worker's scratch


def test_a_corrupt_checkpoint_fails_its_run_in_one_line_and_the_others_are_stored(tmp_path, caplog):
    store_root = tmp_path / "store"
    sweep = SweepSpec(BASE, grid={"optim.optimizer": ["adamw", "adam"]})
    populations = pack(expand(sweep), sweep.max_members)
    bad = populations[0]
    with RunStore(store_root) as store:
        store.checkpoint_path(bad.run_id).write_bytes(b"not a checkpoint")
    with pytest.raises(GroklabError) as err:
        run_sweep(sweep, store_root, backend=LocalBackend(workers=2))
    assert "1 of 2 populations failed" in str(err.value) and "\n" not in str(err.value)
    lines = [r.getMessage() for r in caplog.records if bad.run_id in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert str(RunStore(store_root).checkpoint_path(bad.run_id)) in lines[0]
    assert SCRATCH_PREFIX not in lines[0]
    store = RunStore(store_root)
    assert store.get_run(populations[1].run_id).status == "done"  # finished work is stored


DRIVER = textwrap.dedent(
    """
    import sys
    from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
    from groklab.sweep import SweepSpec, expand, pack, run_sweep
    from groklab.sweep.backend import LocalBackend
    from groklab.train import TrainingInterrupted
    from groklab.events import BaseSink

    class Started(BaseSink):
        seen, said = set(), False
        def on_eval(self, event):
            if event.step > 0:
                self.seen.add(event.run_id)
            if len(self.seen) == 2 and not self.said:
                self.said = print("both training", flush=True) or True

    base = RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(steps=200_000, eval_every=20),
        members=members_from(seed=0),
    )
    sweep = SweepSpec(base, grid={"optim.optimizer": ["adamw", "adam"]})
    try:
        run_sweep(sweep, sys.argv[1], backend=LocalBackend(workers=2, sinks=[Started()]))
    except TrainingInterrupted as e:
        print(f"interrupted in run {e.run_id} at step {e.step}", flush=True)
        sys.exit(130)
    """
)


def start_driver(store: Path) -> subprocess.Popen:
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a job
    )
    line = driver.stdout.readline()  # blocks until both populations have evaluated
    assert line.strip() == "both training", driver.stderr.read()[-2000:]
    return driver


def wait_until(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.slow  # three Python processes importing torch: 10-40 s on a shared 2-core machine
def test_killing_the_driver_ends_its_workers_and_leaves_no_scratch(tmp_path):
    driver = start_driver(tmp_path / "store")
    workers = workers_of(driver.pid)
    assert len(workers) == 2
    everything = children(driver.pid)  # the workers and multiprocessing's resource tracker
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert wait_until(lambda: not any(alive(pid) for pid in everything))
    assert wait_until(lambda: not scratch_of(workers))  # each removed its own on SIGTERM


@pytest.mark.slow
def test_ctrl_c_saves_every_in_flight_population(tmp_path):
    driver = start_driver(tmp_path / "store")
    os.killpg(driver.pid, signal.SIGINT)  # as a terminal's Ctrl-C: driver and workers
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err[-2000:]
    assert out.splitlines()[-1].startswith("interrupted in run r-") and "Traceback" not in err
    store = RunStore(tmp_path / "store")
    runs = store.list_runs()
    assert len(runs) == 2
    for run in runs:
        assert run.status == "interrupted" and run.step > 0
        saved = load_checkpoint(store.checkpoint_path(run.run_id))
        assert saved["step"] == run.step  # the streamed checkpoint is the recorded step
        assert store.read_curves(run.run_id)["step"].max() <= run.step


def test_stale_scratch_and_temp_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    pid = int(dead.stdout)
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{pid}-"))
    mine = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    checkpoints = tmp_path / "store" / "checkpoints"
    (checkpoints / "r-0123456789").mkdir(parents=True)
    stale = checkpoints / f".r-0123456789.pt.{pid}.0a1b2c3d.tmp"
    kept_stale = checkpoints / "r-0123456789" / f".step-000000010.pt.{pid}.0a1b2c3d.tmp"
    live = checkpoints / f".r-0123456789.pt.{os.getpid()}.0a1b2c3d.tmp"
    for path in (stale, kept_stale, live):
        path.write_bytes(b"half")
    try:
        remove_stale_scratch(tmp_path / "store")
        assert not scratch.exists() and mine.exists()
        assert not stale.exists() and not kept_stale.exists() and live.exists()
    finally:
        mine.rmdir()
