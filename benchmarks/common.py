"""Shared helpers for the benchmarks: machine facts, a contention meter, round-robin timing.

The machine is a shared 2-core VM, so every timing block also records how much CPU *other*
processes used while it ran (from /proc/stat minus our own CPU time); blocks where others used
more than `max_other` cores are repeated a few times, and the median is reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "unknown"
    flags = set(fields.get("flags", "").split())
    simd = [x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if x in flags]
    return (
        f"{fields.get('model name', '?')} (family {fields.get('cpu family', '?')}, "
        f"model {fields.get('model', '?')}), {os.cpu_count()} cores, flags: {' '.join(simd)}"
    )


def machine_info() -> str:
    isa = torch.backends.cpu.get_cpu_capability()
    return (
        f"{cpu_model()}; torch {torch.__version__} (CPU capability {isa}), "
        f"threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}"
    )


def busy_seconds() -> tuple[float, float]:
    """(busy CPU-seconds of the whole machine, steal seconds) from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = parts[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


@dataclass
class Sample:
    seconds: float  # wall clock of the block
    calls: int  # how many times the block called the variant
    other_cpu: float  # cores used by other processes during the block (0..n_cores)
    steal: float = 0.0  # cores' worth of time the hypervisor gave to other VMs


def other_cpu_now(window: float = 0.2) -> float:
    """Cores used by other processes over the next `window` seconds (we sleep meanwhile)."""
    busy0, _ = busy_seconds()
    own0, t0 = time.process_time(), time.perf_counter()
    time.sleep(window)
    busy1, _ = busy_seconds()
    own1, t1 = time.process_time(), time.perf_counter()
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)


def wait_quiet(max_other: float = 0.25, timeout: float = 30.0) -> float:
    """Wait (up to `timeout` s) until other processes use at most `max_other` cores; returns the
    last reading."""
    deadline = time.perf_counter() + timeout
    while True:
        other = other_cpu_now()
        if other <= max_other or time.perf_counter() > deadline:
            return other


def timed_block(fn: Callable[[], object], calls: int) -> Sample:
    busy0, steal0 = busy_seconds()
    own0, t0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    t1, own1 = time.perf_counter(), time.process_time()
    busy1, steal1 = busy_seconds()
    wall = t1 - t0
    other = max(0.0, (busy1 - busy0) - (own1 - own0)) / wall
    return Sample(wall, calls, other, (steal1 - steal0) / wall)


@dataclass
class Variant:
    name: str
    fn: Callable[[], object]
    quantum: int = 1  # calls per block are a multiple of this (e.g. the steps of one epoch)
    calls: int = 1
    max_other: float = 0.25  # a sample is "quiet" if others used at most this many cores
    samples: list[Sample] = field(default_factory=list)

    @property
    def kept(self) -> list[Sample]:
        """The quiet samples, or all of them if none was quiet."""
        return [s for s in self.samples if s.other_cpu <= self.max_other] or self.samples

    @property
    def n_quiet(self) -> int:
        return sum(s.other_cpu <= self.max_other for s in self.samples)

    @property
    def per_call(self) -> float:
        """Median seconds per call over the kept samples."""
        return statistics.median(s.seconds / s.calls for s in self.kept)

    @property
    def spread(self) -> tuple[float, float]:
        times = [s.seconds / s.calls for s in self.kept]
        return min(times), max(times)

    @property
    def other_cpu(self) -> float:
        return statistics.median(s.other_cpu for s in self.kept)


def round_robin(
    variants: list[Variant],
    *,
    repeats: int,
    block_seconds: float,
    max_other: float = 0.25,
    attempts: int = 3,
    quiet_timeout: float = 10.0,
    log: Callable[[str], None] = print,
) -> None:
    """Warm every variant up, size its block to ~block_seconds, then time all of them in turn.

    Before each block it waits (up to `quiet_timeout` s) for other processes to go quiet; a
    block during which they still used more than `max_other` cores is tried again, up to
    `attempts` times, and the least-contended attempt is kept. Medians use the quiet samples
    only (all samples if none was quiet); `Variant.n_quiet` says how many there were.
    """
    for v in variants:
        v.max_other = max_other
        v.fn()  # warm-up: allocator, caches, lazy init
        probes = []
        for _ in range(2 if v.quantum == 1 else 1):
            wait_quiet(max_other, quiet_timeout)
            probes.append(timed_block(v.fn, v.quantum).seconds / v.quantum)
        v.calls = v.quantum * max(1, round(block_seconds / (min(probes) * v.quantum)))
        log(f"  warm-up {v.name}: {min(probes) * 1e3:.1f} ms/call -> {v.calls} calls/block")
    for r in range(repeats):
        for v in variants:
            best = None
            for _ in range(attempts):
                wait_quiet(max_other, quiet_timeout)
                sample = timed_block(v.fn, v.calls)
                if best is None or sample.other_cpu < best.other_cpu:
                    best = sample
                if sample.other_cpu <= max_other:
                    break
            v.samples.append(best)
        quiet = sum(v.samples[-1].other_cpu <= max_other for v in variants)
        log(f"  repeat {r + 1}/{repeats} done ({quiet}/{len(variants)} blocks quiet)")


def sgemm_calibration(n: int = 2048) -> tuple[Callable[[], object], float]:
    """A closure doing one n^3 fp32 matmul, and its FLOP count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    return (lambda: torch.mm(a, b, out=out)), 2.0 * n**3


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


class MatmulRecorder:
    """The matrix products one call of a function executes (forward and backward, below vmap
    and autograd), and a closure that runs the same products alone on fresh operands of the
    same shapes, strides and dtypes: the step's GEMM time at its own shapes, the floor an exact
    rewrite that keeps every product can reach (a 2048^3 sgemm runs faster per FLOP than the
    thin products of a small model)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode

        aten = torch.ops.aten
        ops = {aten.mm.default, aten.bmm.default, aten.addmm.default, aten.baddbmm.default}
        calls: list[tuple[object, list]] = []

        class Record(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func in ops:
                    calls.append((func, [_like(a) for a in args]))
                return func(*args, **(kwargs or {}))

        fn()  # warm: lazy init happens outside the record
        with Record():
            fn()
        self.calls = calls

    def replay(self) -> Callable[[], object]:
        def run() -> None:
            for func, operands in self.calls:
                func(*operands)

        return run

    def count(self) -> int:
        return len(self.calls)


def _like(a: object) -> object:
    """A fresh tensor with `a`'s shape, strides and dtype (other arguments as they are)."""
    if not isinstance(a, torch.Tensor):
        return a
    out = torch.empty_strided(a.shape, a.stride(), dtype=a.dtype)
    return out.normal_() if out.is_floating_point() else out.zero_()


def counted_flop(fn) -> float:
    """Matmul FLOPs of one call of `fn` (forward and backward, as executed)."""
    fn()
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def population_table(steps: dict[int, Callable[[], object]], repeats: int) -> str:
    """Per member-step, for each population size M in `steps` (M -> one training step): the
    step, the same step's matrix products replayed alone at their shapes (`MatmulRecorder`),
    and the floor of its matmul FLOPs at a 2048^3 sgemm's rate; timed round-robin."""
    sizes = list(steps)
    variants = [Variant(f"step, M = {m}", steps[m]) for m in sizes]
    recorders = [MatmulRecorder(steps[m]) for m in sizes]
    floors = [
        Variant(f"its {r.count()} products alone, M = {m}", r.replay())
        for m, r in zip(sizes, recorders, strict=True)
    ]
    flops = [counted_flop(steps[m]) for m in sizes]
    sgemm, sgemm_flop = sgemm_calibration()
    calibration = Variant("sgemm 2048^3 fp32", sgemm)
    round_robin([*variants, *floors, calibration], repeats=repeats, block_seconds=3.0)
    peak = sgemm_flop / calibration.per_call
    first = variants[0].per_call / sizes[0]  # per member-step of the first size
    rows = []
    for m, v, f, flop in zip(sizes, variants, floors, flops, strict=True):
        step, shape, dense = v.per_call / m, f.per_call / m, flop / peak / m
        rows.append([
            str(m), f"{step * 1e3:.2f}", f"{shape * 1e3:.2f}", f"{dense * 1e3:.2f}",
            f"{step / shape:.2f}x", f"{step / dense:.2f}x", f"{step / first:.2f}x",
            f"{v.n_quiet}/{len(v.samples)}",
        ])  # fmt: skip
    header = ["M", "step ms / member", "its products alone ms / member",
              "sgemm-rate floor ms / member", "x own-shape floor", "x sgemm-rate floor",
              f"per member-step vs M = {sizes[0]}", "quiet blocks"]  # fmt: skip
    return (
        markdown_table(header, rows)
        + f"\n\nsgemm {peak / 1e9:.0f} GFLOP/s; load average {load_average()}."
    )
