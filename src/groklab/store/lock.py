"""One writer per run: an OS file lock per run under the store, `locks/<run id>.lock`.

The lock is `fcntl.flock` on that file, so the kernel releases it when the holding process
ends, however it ends (kill -9 included): a dead writer never leaves a run locked. The file
holds the owner's pid and host, for the message a second writer gets:

    with hold_run_lock(root / "locks" / "r-0123456789.lock", "r-0123456789"):
        ...  # write the run; another process gets RunLockedError (one line, exit 2)

Locks are re-entrant within a process (a sweep's driver locks its populations, then trains
each, which locks it again), counted per lock file, and the file descriptor is not inherited
by child processes. The files stay after release: removing one while another process waits
to open it would let two processes each lock a different file of the same name.

flock is advisory and local: it binds every groklab process on this machine; on a network
file system shared by several machines it binds only where that file system supports it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from groklab.errors import GroklabError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no lock, as before
    fcntl = None  # type: ignore[assignment]

_HELD: dict[str, list[int]] = {}  # resolved lock path -> [fd, count], this process's locks
_GUARD = threading.Lock()


class RunLockedError(GroklabError):
    """Another process writes the run; the message names the run and its owner."""


def owner_text(path: Path) -> str:
    """'pid 1234 on host lab-7' from a lock file, or 'another process' if it says nothing."""
    try:
        pid, _, host = path.read_text().strip().partition(" ")
    except OSError:
        return "another process"
    return f"pid {pid} on host {host}" if pid.isdigit() and host else "another process"


def acquire_run_lock(path: Path, run_id: str) -> None:
    """Take (or, in this process, take again) the lock of `run_id` at `path`; never waits."""
    key = str(Path(path).absolute())
    with _GUARD:
        if key in _HELD:
            _HELD[key][1] += 1
            return
        if fcntl is None:  # pragma: no cover
            _HELD[key] = [-1, 1]
            return
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise GroklabError(
                f"cannot lock run {run_id}: cannot open {key} ({e.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunLockedError(
                f"run {run_id} is being written by {owner_text(Path(key))} (lock {key}); "
                "wait for it to finish or stop it, then run this again"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        except OSError as e:  # a full disk: say where, and let the lock go
            os.close(fd)
            raise OSError(e.errno, e.strerror, key) from None
        _HELD[key] = [fd, 1]


def release_run_lock(path: Path) -> None:
    """Undo one `acquire_run_lock`; the last one closes the file, which frees the lock."""
    key = str(Path(path).absolute())
    with _GUARD:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[key]
            if held[0] >= 0:
                os.close(held[0])  # closing the only descriptor releases the flock


def is_held_here(path: Path) -> bool:
    """Whether this process holds the lock at `path`."""
    return str(Path(path).absolute()) in _HELD


@contextmanager
def hold_run_lock(path: Path, run_id: str) -> Iterator[None]:
    acquire_run_lock(path, run_id)
    try:
        yield
    finally:
        release_run_lock(path)
