"""Process-wide speed settings that change no result.

glibc serves every allocation above ~128 KB with a fresh mmap and returns it on free, so each
training step page-faults thousands of times on CPU; keeping freed memory in the heap removes
that (measured on the Power step: 7-25 % faster, median ~10 %, and 0 faults per step).
Called by the CLI and benchmarks,
never on import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4


def tune_allocator() -> bool:
    """Apply the glibc malloc settings; returns False where they do not apply."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
    return bool(ok and mallopt(M_TOP_PAD, 1 << 30))


def auto_threads(cores: int | None = None, load: float | None = None) -> int:
    """Torch CPU threads for a machine that others may share: the cores the 1-minute load
    average leaves free, at least 1.

    OpenMP threads wait for each other at every op, so one thread that loses its core to another
    process stalls them all: on 2 cores with one busy process, a 2-thread Power step took 3.1x
    as long as on a quiet machine and a 1-thread step 1.5x (benchmarks/RESULTS.md). Called
    before training starts, so the load is other processes'.

    Example: auto_threads(cores=2, load=0.1) == 2; auto_threads(cores=2, load=1.3) == 1.
    """
    cores = cores or os.cpu_count() or 1
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # not available on this platform
            load = 0.0
    return max(1, min(cores, cores - round(load)))


def set_threads(threads: int | str | None) -> int:
    """Apply `--threads`: a positive count, or None/"auto": $OMP_NUM_THREADS when the user set
    it, else `auto_threads()`. Returns the count."""
    import torch

    from groklab.errors import GroklabError

    if (threads is None or threads == "auto") and os.environ.get("OMP_NUM_THREADS"):
        threads = os.environ["OMP_NUM_THREADS"]
    if threads is None or threads == "auto":
        count = auto_threads()
    else:
        try:
            count = int(threads)
        except ValueError:
            count = 0
        if count < 1:
            raise GroklabError(
                f"--threads={threads} is not allowed; use a positive integer or auto"
            )
    torch.set_num_threads(count)
    return count
