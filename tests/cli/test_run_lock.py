"""A run is written by one process at a time: `train` and `sweep` of a run another process
writes exit 2 with one line naming the run and its owner, and change nothing in the store."""

import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

import groklab.train.loop as loop
from groklab.store import RunStore

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--seeds", "0-1"]

# A plain flock holder standing for another groklab process: "<pid> <host>" in the file.
HOLDER = """
import fcntl, os, socket, sys, time
path = os.path.join(sys.argv[1], "locks", sys.argv[2] + ".lock")
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.ftruncate(fd, 0)
os.write(fd, f"{os.getpid()} {socket.gethostname()}\\\\n".encode())
print("held", flush=True)
time.sleep(120)
"""


def hold(store, run_id: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store), run_id], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def snapshot(store) -> tuple:
    """Every row of the store's tables and every checkpoint's bytes: what must not change."""
    conn = sqlite3.connect(store / "runs.sqlite")
    rows = tuple(
        tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))
        for table in ("runs", "members", "measures")
    )
    conn.close()
    files = {
        str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((store / "checkpoints").rglob("*"))
        if p.is_file()
    }
    return rows, files


def run_id_of(out: str) -> str:
    return re.search(r"^run (r-[0-9a-f]{10})", out, re.M).group(1)


def test_train_of_a_run_another_process_writes_exits_2_and_changes_nothing(
    run_cli, tmp_path, monkeypatch
):
    store = tmp_path / "s"
    argv = ["train", *TINY, "--steps", "20", "--store", str(store)]
    step = loop.train_step

    def interrupted_step(state, *args):  # Ctrl-C before step 13: saved at 12, half the curves
        if state.step + 1 == 13:
            raise KeyboardInterrupt
        return step(state, *args)

    with monkeypatch.context() as patch:
        patch.setattr(loop, "train_step", interrupted_step)
        status, out, err = run_cli(argv)
    assert status == 130, err
    run_id = run_id_of(out)
    before = snapshot(store)
    holder = hold(store, run_id)
    try:
        status, out, err = run_cli(argv)
    finally:
        holder.kill()
        holder.wait()
    assert status == 2
    assert err.count("\n") == 1, err
    assert run_id in err and f"pid {holder.pid} on host {socket.gethostname()}" in err
    assert snapshot(store) == before
    status, out, err = run_cli(argv)  # the holder gone, the run resumes and finishes
    assert status == 0, err
    with RunStore(store) as s:
        assert s.get_run(run_id).status == "done"


def test_sweep_of_a_population_another_process_writes_exits_2_before_training(run_cli, tmp_path):
    from groklab.sweep import expand, load_sweep, pack

    sweep_file = tmp_path / "micro.toml"
    sweep_file.write_text(
        '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
        "d_mlp = 32\n[train]\nsteps = 10\neval_every = 5\n[grid]\nseed = [0, 1]\n"
        "[sweep]\nmax_members = 1\n"
    )
    populations = pack(expand(load_sweep(sweep_file)), 1)
    store = tmp_path / "s"
    RunStore(store).close()
    holder = hold(store, populations[1].run_id)  # the second population: the first must wait
    try:
        status, out, err = run_cli(
            ["sweep", str(sweep_file), "--store", str(store), "--out", str(tmp_path / "o.csv")]
        )
    finally:
        holder.kill()
        holder.wait()
    assert status == 2
    assert err.count("\n") == 1 and populations[1].run_id in err and str(holder.pid) in err
    with RunStore(store) as s:
        assert s.list_runs() == []  # nothing trained, not even the free population
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
def test_second_train_while_a_real_train_runs_exits_2_and_kill_9_frees_the_lock(run_cli, tmp_path):
    """The issue's case: a real `groklab train` writing the run, a second one started."""
    store = tmp_path / "s"
    argv = ["train", *TINY, "--steps", "100000", "--checkpoint-every", "20", "--store", str(store)]
    # the dtype said: `auto` would pick bf16 in the owner on a CPU with fast bf16 but float32 in
    # this process (conftest hides the CPU's bf16), two different runs that lock nothing shared
    argv += ["--dtype", "float32"]
    owner = subprocess.Popen(
        [sys.executable, "-m", "groklab", *argv], stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = run_id_of(owner.stdout.readline())
        checkpoint = store / "checkpoints" / f"{run_id}.pt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert checkpoint.exists()
        status, _, err = run_cli(argv)
        assert status == 2 and f"pid {owner.pid}" in err and err.count("\n") == 1, err
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        with RunStore(store) as s, s.run_lock(run_id):  # the kernel freed the killed owner's lock
            assert s.get_run(run_id).status == "running"
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait()
