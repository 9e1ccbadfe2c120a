"""One writer per run: a second process gets a one-line error naming the owner; a killed
owner (kill -9) leaves the run free."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from groklab.store import RunStore
from groklab.store.lock import RunLockedError, is_held_here

RUN = "r-0123456789"

# A plain flock holder (not groklab's code, and quick to start: no torch import), writing
# the owner as the lock module does: "<pid> <host>".
HOLDER = """
import fcntl, os, socket, sys, time
path = os.path.join(sys.argv[1], "locks", sys.argv[2] + ".lock")
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("busy", flush=True)
    sys.exit(0)
os.ftruncate(fd, 0)
os.write(fd, f"{os.getpid()} {socket.gethostname()}\\n".encode())
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


@pytest.fixture
def holder(tmp_path):
    """A second process holding the lock of RUN in tmp_path's store; killed at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), RUN, "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_second_writer_gets_one_line_naming_the_run_and_the_owners_pid_and_host(tmp_path, holder):
    store = RunStore(tmp_path)
    with pytest.raises(RunLockedError) as e, store.run_lock(RUN):
        pass
    message = str(e.value)
    assert "\n" not in message
    assert RUN in message
    assert f"pid {holder.pid} on host {socket.gethostname()}" in message
    assert not is_held_here(store.lock_path(RUN))


def test_kill_9_of_the_owner_releases_the_lock(tmp_path, holder):
    store = RunStore(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with store.run_lock(RUN):
        assert is_held_here(store.lock_path(RUN))
        assert store.lock_path(RUN).read_text().split()[0] == str(os.getpid())
    assert not is_held_here(store.lock_path(RUN))


def test_lock_is_reentrant_in_one_process_and_freed_by_the_last_release(tmp_path):
    a, b = RunStore(tmp_path), RunStore(tmp_path)
    with a.run_lock(RUN), b.run_lock(RUN, RUN):
        assert is_held_here(a.lock_path(RUN))
    assert not is_held_here(a.lock_path(RUN))
    probe = subprocess.run(
        [sys.executable, "-c", HOLDER, str(tmp_path), RUN, "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "held", probe.stderr  # another process can take it now
    with a.run_lock(RUN):
        probe = subprocess.run(
            [sys.executable, "-c", HOLDER, str(tmp_path), RUN, "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.stdout.strip() == "busy", probe.stderr  # and not while this one holds it


def test_a_run_locked_elsewhere_leaves_the_other_runs_of_a_block_unlocked(tmp_path, holder):
    store = RunStore(tmp_path)
    with pytest.raises(RunLockedError), store.run_lock("r-aaaaaaaaaa", RUN):
        pass
    assert not is_held_here(store.lock_path("r-aaaaaaaaaa"))
