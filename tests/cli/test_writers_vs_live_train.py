"""Every command that writes a run refuses while a live `groklab train` writes it (issue 21
item 1): one line naming the run and the trainer's pid, exit 2, and not one stored row or
checkpoint byte changed. The trainer is a real `groklab train` process, stopped (SIGSTOP)
once it has saved a checkpoint: it holds its lock as it does while it trains, and the store
cannot change under the checks, so the comparison is exact on any schedule."""

import os
import signal
import subprocess
import sys
import time

import pytest

from groklab.store import RunStore
from groklab.store.lock import RunLockedError

from .test_run_lock import run_id_of, snapshot

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGSTOP, flock")

CONFIG = """\
[data]
op = "add"
p = 7
[model]
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32
[train]
steps = 100000
eval_every = 5
"""


def wait_for(path, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.fixture
def live_train(tmp_path):
    """(store, run id, config file, trainer process): a real trainer holding the run's lock."""
    config, store = tmp_path / "run.toml", tmp_path / "s"
    config.write_text(CONFIG)
    argv = ["--config", str(config), "--store", str(store), "--checkpoint-every", "20"]
    argv += ["--keep-checkpoints", "every:20", "--threads", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "groklab", "train", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = run_id_of(proc.stdout.readline())
        wait_for(store / "checkpoints" / run_id / "step-000000020.pt", proc)
        wait_for(store / "checkpoints" / f"{run_id}.pt", proc)
        os.kill(proc.pid, signal.SIGSTOP)  # mid-run, lock held, nothing more written
        yield store, run_id, config, proc
    finally:
        proc.kill()  # a stopped process dies of SIGKILL too
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def refused(status: int, err: str, run_id: str, pid: int) -> bool:
    return status == 2 and err.count("\n") == 1 and run_id in err and f"pid {pid}" in err


def test_every_writer_refuses_a_run_a_live_train_writes_and_changes_nothing(
    run_cli, live_train, tmp_path
):
    store, run_id, config, trainer = live_train
    pid = trainer.pid
    before = snapshot(store)
    out_csv = tmp_path / "sweep.csv"
    sweep_file = tmp_path / "sweep.toml"  # a grid of one point: the trainer's run
    sweep_file.write_text(CONFIG + "[grid]\nseed = [0]\n")
    writers = {
        "train": ["train", "--config", str(config), "--store", str(store)],
        "sweep": ["sweep", str(sweep_file), "--store", str(store), "--out", str(out_csv)],
        "sweep --workers 2": [
            *("sweep", str(sweep_file), "--store", str(store), "--out", str(out_csv)),
            *("--workers", "2"),
        ],
        "measure": ["measure", run_id, "--store", str(store)],
    }
    for name, argv in writers.items():
        status, _, err = run_cli(argv)
        assert refused(status, err, run_id, pid), (name, status, err)
        assert snapshot(store) == before, name
    assert not out_csv.exists()
    with RunStore(store) as s, pytest.raises(RunLockedError):  # the library's writes too
        s.write_metrics(run_id, 5, {"train_acc": [0.5]})
    assert snapshot(store) == before


def test_measure_runs_once_the_trainer_is_gone(run_cli, live_train):
    store, run_id, _, trainer = live_train
    trainer.kill()
    trainer.wait()  # reaped: every thread gone, so the kernel has freed its lock
    quick_llc = ["--llc-chains", "2", "--llc-draws", "4", "--llc-burn-in", "2"]
    status, out, err = run_cli(["measure", run_id, "--store", str(store), *quick_llc])
    assert status == 0, err
    assert " 0 (step, measure) computed" not in out  # it measured the kept checkpoints
