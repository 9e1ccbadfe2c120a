"""`--dtype auto`: the precision a machine should train in, and why.

bf16 autocast is a default only where it is both fast and known not to change grokking:
- fast: a CPU with AMX or AVX512-BF16 (bf16 GEMM ~6x fp32 on an AMX Xeon), or a CUDA GPU with
  bf16 support. On an AVX2-only CPU a bf16 step is ~19x *slower* than fp32
  (benchmarks/RESULTS.md §1), so auto never picks it there;
- known: grokking is sensitive to float precision (softmax collapse, Prieto et al. 2025), so bf16
  counts as safe on a kind of device only once benchmarks/bench_precision.py has shown steps to
  99 % validation within seed noise of float32 on the main job, Nanda's run and an Omnigrok task,
  and its numbers are in RESULTS.md (§20). It passed on a CPU with AVX512-BF16 (5 seeds per task
  and dtype, 2026-12-07), so auto picks bf16 on CPUs with fast bf16; a CUDA GPU has not been
  checked, so auto is float32 there.

The resolved name goes into the spec, never "auto": what a run computes is part of its id, so
`auto` that resolves to float32 gives the same id as `--dtype float32`, and two machines that
resolve differently give two ids (two different computations).
"""

from __future__ import annotations

from pathlib import Path

import torch

# Device type -> the grokking check passed for bf16 there (benchmarks/bench_precision.py's
# numbers in benchmarks/RESULTS.md §20: an AVX512-BF16 CPU; no CUDA GPU has run it yet).
GROKKING_CHECKED: dict[str, bool] = {"cpu": True, "cuda": False}
FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags of the first processor in /proc/cpuinfo (empty where unreadable)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.partition(":")[2].split())
    return set()


def fast_bf16(device: torch.device, flags: set[str] | None = None) -> str | None:
    """Why bf16 is fast on `device` ("amx_bf16", "avx512_bf16", "cuda bf16"), or None.

    Example: fast_bf16(torch.device("cpu"), {"avx2", "fma"}) is None.
    """
    if device.type == "cuda":
        return "cuda bf16" if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu":
        return None
    flags = cpu_flags() if flags is None else flags
    return next((f for f in FAST_BF16_CPU_FLAGS if f in flags), None)


def resolve_dtype(
    requested: str,
    device: torch.device,
    *,
    flags: set[str] | None = None,
    checked: dict[str, bool] | None = None,
) -> tuple[str, str]:
    """(dtype for the spec, why) for `requested` (auto, float32, bf16 or float64) on `device`.

    Example: resolve_dtype("auto", torch.device("cpu"), flags={"avx2"})
    == ("float32", "auto: no fast bf16").
    """
    if requested != "auto":
        return requested, "as requested"
    reason = fast_bf16(device, flags)
    if reason is None:
        return "float32", "auto: no fast bf16"
    if not (GROKKING_CHECKED if checked is None else checked).get(device.type, False):
        return "float32", f"auto: fast bf16 ({reason}), grokking check not yet passed"
    return "bf16", f"auto: fast bf16 ({reason}), grokking check passed"
