"""Process-wide settings: speed that changes no result, and numbers that do not depend on it.

glibc serves every allocation above ~128 KB with a fresh mmap and returns it on free, so each
training step page-faults thousands of times on CPU; keeping freed memory in the heap removes
that (measured on the Power step: 7-25 % faster, median ~10 %, and 0 faults per step).
Called by the CLI and benchmarks,
never on import.

MKL (torch's CPU GEMM) picks its kernels and how it splits a product over threads at run time,
so by default a product's rounding may change with the thread count and, on some CPUs, from
run to run. Its conditional numerical reproducibility in strict mode (`MKL_CBWR=AUTO,STRICT`)
is documented to fix the order of additions in ?gemm for any thread count; it must be chosen
before MKL's first call, so `groklab/__init__.py` sets it as a default of the environment (a
user's own MKL_CBWR wins), and worker processes inherit it. The cost is in
benchmarks/RESULTS.md. Together with train/reduce.py (sums that torch splits over threads) a
run trains to the same bits at any thread count, so `--threads auto` may pick a different
count on resume, with the one exception below.

Strict mode does not hold everywhere (MKL 2024.2, AVX-512 EPYC; 436 random shapes and layouts
at 1-4 threads): 136 dgemm products followed the thread count, among them the transformer's
`x @ w.T` (DGEMM 'T','N') at 1 and 2 threads (~1e-16 per product, ~1e-14 in the weights
after 300 steps), but only 12 sgemm products, all with a short side (at most 23 rows or
columns, e.g. a d_model=16 transformer's [12, 32] @ [32, 16]). A product on one MKL thread is
the same at any torch thread count, so a float64 run gives MKL one thread (`serial_blas`) and
torch's own ops keep all of them. float32 keeps its threaded products: on one thread its
GEMMs, about half of a quiet 2-thread step (RESULTS.md), would run at half speed, and the
shapes strict mode leaves are those of tiny models. So a float32 run of a tiny model may
differ in its last bits at another thread count (the exception README states); the same
count, e.g. `--threads 1`, reproduces it exactly. bf16 products (oneDNN) kept their bits at
1-4 threads on all 436 shapes.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import getpass
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

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


def torch_cache_folder() -> Path | None:
    """Where torch puts its compile cache by default, `<temp>/torchinductor_<user>` (torch's
    `cache_dir_utils.default_cache_dir`); None when $TORCHINDUCTOR_CACHE_DIR chooses it."""
    if "TORCHINDUCTOR_CACHE_DIR" in os.environ:
        return None
    try:
        user = getpass.getuser()
    except (KeyError, ImportError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    return Path(tempfile.gettempdir()) / ("torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


def remove_torch_cache_folder_at_exit() -> None:
    """torch makes its compile cache folder when it first imports its compiler, which a
    memory estimate on the meta device does without compiling anything; so every run (and
    each worker of a sweep) would leave an empty `torchinductor_<user>` in the temp folder.
    Called before torch is imported: if the folder does not exist yet, it is removed at exit
    while it holds nothing but empty folders (`--compile` fills it: then it stays)."""
    folder = torch_cache_folder()
    if folder is not None and not os.path.lexists(folder):
        atexit.register(remove_empty_tree, folder)


def remove_empty_tree(folder: Path) -> None:
    """Remove `folder` if it holds nothing but empty folders; otherwise leave it as it is."""
    if folder.is_symlink() or not folder.is_dir():
        return
    walk = list(os.walk(folder, topdown=False))
    if any(files for _, _, files in walk):
        return  # something is cached there
    for directory, _, _ in walk:  # deepest first, the folder itself last
        try:
            os.rmdir(directory)
        except OSError:
            return


MKL_ENV = {"MKL_CBWR": "AUTO,STRICT", "MKL_DYNAMIC": "FALSE"}  # read at MKL's first call
MKL_CBWR_AUTO, MKL_CBWR_STRICT, MKL_CBWR_ALL = 2, 0x10000, -1  # mkl_service.h


def set_reproducible_blas_env(environ: MutableMapping[str, str] | None = None) -> None:
    """Default MKL to strict reproducible mode (before torch makes its first MKL call)."""
    environ = os.environ if environ is None else environ
    for name, value in MKL_ENV.items():
        environ.setdefault(name, value)


def _mkl_function(name: str) -> Callable[[int], int] | None:
    """`int name(int)` of the MKL torch links statically (None where torch has no MKL)."""
    import torch

    try:
        fn = getattr(
            ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so")), name
        )
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    return fn


def _mkl_cbwr() -> tuple[Callable[[int], int], Callable[[int], int]] | None:
    """MKL's cbwr get and set from the library torch links (None where torch has no MKL)."""
    get, put = _mkl_function("mkl_serv_cbwr_get"), _mkl_function("mkl_serv_cbwr_set")
    return None if get is None or put is None else (get, put)


SERIAL_BLAS_DTYPES = ("float64",)  # whose products strict mode leaves thread-dependent


@contextlib.contextmanager
def serial_blas(active: bool = True) -> Iterator[bool]:
    """Inside, MKL runs each product of this thread on one thread; torch's other ops keep
    theirs. Yields whether it could (False where inactive or torch has no MKL).

    torch.set_num_threads sets MKL's thread-local count too (so a call inside undoes this);
    on leaving, the count from before comes back. Example: a float64 run at --threads 2
    trains inside `serial_blas()` to the bits it trains to at --threads 1.
    """
    put = _mkl_function("MKL_Set_Num_Threads_Local") if active else None
    if put is None:
        yield False
        return
    before = put(1)  # the previous thread-local count, 0 where the global one applied
    try:
        yield True
    finally:
        put(before)


def blas_is_reproducible() -> bool | None:
    """Whether MKL runs in strict reproducible mode (same bits at any thread count), switching
    it on if MKL has not been used yet; None where torch uses no MKL (e.g. OpenBLAS on Arm,
    whose reproducibility this does not know)."""
    cbwr = _mkl_cbwr()
    if cbwr is None:
        return None
    get, put = cbwr
    if get(MKL_CBWR_ALL) & MKL_CBWR_STRICT:
        return True
    if os.environ.get("MKL_CBWR", MKL_ENV["MKL_CBWR"]) != MKL_ENV["MKL_CBWR"]:
        return False  # the user chose another mode
    return put(MKL_CBWR_AUTO | MKL_CBWR_STRICT) == 0  # fails once MKL has run a product


@dataclass(frozen=True)
class CpuTimes:
    busy: int  # jiffies all CPUs spent on anything but idle and iowait
    total: int  # jiffies of all CPUs
    cpus: int  # the cpuN lines


def read_proc_stat(path: str | Path = "/proc/stat") -> CpuTimes | None:
    """The aggregate `cpu` line of /proc/stat (None where there is none)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    head = [line.split() for line in lines if line.startswith("cpu ")]
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    if not head or len(head[0]) < 5:
        return None
    jiffies = [int(v) for v in head[0][1:9]]  # user nice system idle iowait irq softirq steal
    idle = jiffies[3] + (jiffies[4] if len(jiffies) > 4 else 0)
    return CpuTimes(busy=sum(jiffies) - idle, total=sum(jiffies), cpus=max(cpus, 1))


def read_self_jiffies(path: str | Path = "/proc/self/stat") -> int:
    """This process's user + system CPU time in jiffies (0 where unknown)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return 0
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)


def idle_cores(
    interval: float = 0.25,
    *,
    read_stat: Callable[[], CpuTimes | None] = read_proc_stat,
    read_self: Callable[[], int] = read_self_jiffies,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[float, int] | None:
    """(cores that other processes leave idle now, cores counted), from /proc/stat over
    `interval` seconds minus this process's own use; None where /proc/stat is absent.

    Example: 2 cores, 50 jiffies in the interval of which 26 busy, 2 of them this process's:
    others used 24 / 50 of the machine, so 2 * (1 - 0.48) = 1.04 cores are idle.
    """
    before, own_before = read_stat(), read_self()
    sleep(interval)
    after, own_after = read_stat(), read_self()
    if before is None or after is None or after.total <= before.total:
        return None
    others = max(0, (after.busy - before.busy) - (own_after - own_before))
    busy = min(1.0, others / (after.total - before.total))
    return after.cpus * (1.0 - busy), after.cpus


@dataclass(frozen=True)
class ThreadChoice:
    count: int
    reason: str  # "auto: 1.9 of 2 cores idle", "--threads 2", "OMP_NUM_THREADS=1"

    def __str__(self) -> str:
        return f"threads {self.count} ({self.reason})"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def auto_threads(
    cores: int | None = None, idle: tuple[float, int] | None | str = "measure"
) -> ThreadChoice:
    """Torch CPU threads for a machine that others may share: the cores idle right now, at
    least 1 (`idle_cores`; all usable cores where /proc/stat is absent).

    OpenMP threads wait for each other at every op, so one thread that loses its core to another
    process stalls them all: on 2 cores with one busy process, a 2-thread Power step took 3.1x
    as long as on a quiet machine and a 1-thread step 1.5x (benchmarks/RESULTS.md). The load
    average is no guide: a minute after a busy process ends it still counts it.

    Example: auto_threads(cores=2, idle=(1.9, 2)) -> threads 2 (auto: 1.9 of 2 cores idle).
    """
    cores = cores or usable_cores()
    measured = idle_cores() if idle == "measure" else idle
    if measured is None:
        return ThreadChoice(cores, f"auto: {cores} cores, no /proc/stat to read their use")
    free, counted = measured
    # a machine of more CPUs than this process may use: its share of the idle ones
    free = free * min(1.0, cores / counted)
    count = max(1, min(cores, math.floor(free + 0.5)))
    return ThreadChoice(count, f"auto: {free:.1f} of {cores} cores idle")


def choose_threads(threads: int | str | None) -> ThreadChoice:
    """`--threads`: a positive count, or None/"auto": $OMP_NUM_THREADS when the user set it,
    else `auto_threads()`."""
    if threads is None or threads == "auto":
        if os.environ.get("OMP_NUM_THREADS"):
            return _positive(os.environ["OMP_NUM_THREADS"], "OMP_NUM_THREADS")
        return auto_threads()
    return _positive(threads, "--threads")


def _positive(value: int | str, name: str) -> ThreadChoice:
    from groklab.errors import GroklabError

    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise GroklabError(f"{name}={value} is not allowed; use a positive integer or auto")
    return ThreadChoice(count, name if name == "--threads" else f"{name}={count}")


def apply_threads(threads: int | str | None) -> ThreadChoice:
    """Choose the thread count (`choose_threads`) and give it to torch."""
    import torch

    choice = choose_threads(threads)
    torch.set_num_threads(choice.count)
    return choice


def set_threads(threads: int | str | None) -> int:
    """`apply_threads`, returning the count."""
    return apply_threads(threads).count


def machine_text() -> str:
    """The CPU model, its core count and features torch uses, and the load average."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{model}, {os.cpu_count()} cores ({torch.backends.cpu.get_cpu_capability()}), {cuda}; "
        f"torch {torch.__version__}; load average {load} at the end"
    )
