"""Shared test set-up.

One torch thread: the suite's models are tiny, and OpenMP threads spinning against other
processes on a shared 2-core machine make tiny steps 50x slower.
"""

import os
import shutil
import subprocess

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by CLI subprocesses
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def no_fast_bf16_unless_a_test_says(monkeypatch):
    """`--dtype auto` (the train CLI's default) picks bf16 on CPUs with fast bf16
    (train/precision.py): in-process tests see a CPU without it, so a test's numbers do not
    depend on the machine the suite runs on; the tests of auto set the flags they need."""
    from groklab.train import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})


READ_ONLY_BIND = 'mount --bind -o ro "$1" "$1" || exit 97; shift; exec "$@"'


@pytest.fixture
def on_read_only_media(tmp_path):
    """run(folder, argv) -> CompletedProcess: `argv` in a new user and mount namespace
    (`unshare -rm`) where `folder` is a read-only bind mount of itself, so writes under it
    fail with EROFS for every user, root included, as on read-only media; the rest of the
    machine looks the same. Skips where unprivileged namespaces or bind mounts are not
    allowed."""

    def run(folder, argv, timeout: float = 120) -> subprocess.CompletedProcess:
        command = ["unshare", "-rm", "sh", "-c", READ_ONLY_BIND, "sh", str(folder), *argv]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    probe = tmp_path / "read-only-probe"
    probe.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a read-only mount")
    tried = run(probe, ["touch", str(probe / "x")])
    if "Read-only file system" not in tried.stderr or (probe / "x").exists():
        pytest.skip(f"no read-only bind mount here: {tried.stderr.strip()[:200]}")
    return run
