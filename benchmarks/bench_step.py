"""Per-step time of the Power et al. model at batch 512 on this CPU, groklab vs the reference.

All variants run in one process, round-robin, median of repeats, so drift hits all alike:
- `reference`: benchmarks/reference.py, one nn.Module + torch.optim.AdamW;
- `groklab M=1`: groklab's `train_step` on a one-member population (fp32);
- `groklab M=8/16`: one population of 8 (16) members, per-member and aggregate rates;
- `reference loop x8/x16`: a Python loop stepping 8 (16) independent reference models;
- calibration: a 2048^3 sgemm (the fp32 peak right now) and one 2048x128x512 matmul in fp32 and
  in bf16 (Power's MLP-in shape; bf16 has no fast path on an AVX2-only CPU).
`groklab.perf.tune_allocator()` (glibc mallopt) is applied once, so it holds for both sides.

    .venv/bin/python benchmarks/bench_step.py [--repeats 7] [--block-seconds 1] [--bf16-step]
"""

from __future__ import annotations

import argparse
import time

import torch

from common import (
    Variant,
    machine_info,
    markdown_table,
    other_cpu_now,
    round_robin,
    sgemm_calibration,
)
from groklab.perf import tune_allocator
from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
from groklab.train.state import init_state, make_task
from groklab.train.step import train_step
from reference import build_reference, reference_step

# Dense fp32 training FLOPs of one Power step at B=512, T=4 (PERF-NOTES.md section 2).
POWER_STEP_FLOP = 5.01e9


def groklab_variant(n_members: int, *, dtype: str = "float32") -> tuple[str, object]:
    spec = RunSpec(
        data=DataSpec(op="div", p=97),
        train=TrainSpec(dtype=dtype),
        members=members_from(seed=list(range(n_members))),
    )
    device = torch.device("cpu")
    task = make_task(spec, device)
    state = init_state(spec, task, device)
    return spec, lambda: train_step(state, task, spec)


def reference_loop(n_models: int):
    refs = [build_reference(seed) for seed in range(n_models)]

    def step_all() -> None:
        for ref in refs:
            reference_step(ref)

    return step_all


def matmul(m: int, k: int, n: int, dtype: torch.dtype):
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    out = torch.empty(m, n, dtype=dtype)
    return lambda: torch.mm(a, b, out=out)


def build_variants(members: list[int], bf16_step: bool) -> tuple[list[Variant], dict[str, int]]:
    sgemm, _ = sgemm_calibration()
    ref = build_reference(0)
    variants = [
        Variant("sgemm 2048^3 fp32", sgemm),
        Variant("matmul 2048x128x512 fp32", matmul(2048, 128, 512, torch.float32)),
        Variant("matmul 2048x128x512 bf16", matmul(2048, 128, 512, torch.bfloat16)),
        Variant("reference", lambda: reference_step(ref)),
        Variant("groklab M=1", groklab_variant(1)[1]),
    ]
    n_of = {"reference": 1, "groklab M=1": 1}
    if bf16_step:
        variants.append(Variant("groklab M=1 bf16", groklab_variant(1, dtype="bf16")[1]))
        n_of["groklab M=1 bf16"] = 1
    for m in members:
        variants.append(Variant(f"groklab M={m}", groklab_variant(m)[1]))
        variants.append(Variant(f"reference loop x{m}", reference_loop(m)))
        n_of[f"groklab M={m}"] = n_of[f"reference loop x{m}"] = m
    return variants, n_of


def report(variants: list[Variant], n_of: dict[str, int]) -> str:
    by_name = {v.name: v for v in variants}
    peak = 2.0 * 2048**3 / by_name["sgemm 2048^3 fp32"].per_call
    mm_flop = 2.0 * 2048 * 128 * 512
    calib_rows = []
    for v in variants[:3]:
        flop = 2.0 * 2048**3 if v.name.startswith("sgemm") else mm_flop
        lo, hi = v.spread
        calib_rows.append(
            [
                v.name,
                f"{v.per_call * 1e3:.3f}",
                f"{lo * 1e3:.3f}-{hi * 1e3:.3f}",
                f"{flop / v.per_call / 1e9:.1f}",
                f"{v.other_cpu:.2f}",
            ]
        )
    ref_rate = 1.0 / by_name["reference"].per_call
    roofline = POWER_STEP_FLOP / peak
    rows = []
    for v in variants[3:]:
        m = n_of[v.name]
        per_member = v.per_call / m
        lo, hi = v.spread
        rows.append(
            [
                v.name,
                str(m),
                f"{v.per_call * 1e3:.1f}",
                f"{lo * 1e3:.1f}-{hi * 1e3:.1f}",
                f"{per_member * 1e3:.1f}",
                f"{1.0 / per_member:.1f}",
                f"{(1.0 / per_member) / ref_rate:.2f}x",
                f"{roofline / per_member:.0%}",
                f"{v.other_cpu:.2f}",
            ]
        )
    calib = markdown_table(
        ["calibration", "median ms", "min-max ms", "GFLOP/s", "other-tenant cores"], calib_rows
    )
    steps = markdown_table(
        [
            "variant",
            "members",
            "ms/call (median)",
            "min-max ms",
            "ms per member-step",
            "member-steps/s",
            "vs reference",
            "% of dense fp32 roofline",
            "other-tenant cores",
        ],
        rows,
    )
    note = (
        f"Dense fp32 roofline of one Power step at B=512: {POWER_STEP_FLOP / 1e9:.2f} GFLOP / "
        f"{peak / 1e9:.0f} GFLOP/s (this run's sgemm) = {roofline * 1e3:.1f} ms."
    )
    return f"{calib}\n\n{steps}\n\n{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--block-seconds", type=float, default=1.0)
    parser.add_argument("--members", default="8,16", help="population sizes, e.g. 8,16")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--bf16-step", action="store_true", help="also time a bf16 groklab step")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned = tune_allocator()
    print(f"machine: {machine_info()}")
    print(f"tune_allocator() applied to both sides: {tuned}")
    print(f"other-tenant cores at start: {other_cpu_now(1.0):.2f}")
    members = [int(x) for x in args.members.split(",") if x]
    variants, n_of = build_variants(members, args.bf16_step)
    start = time.perf_counter()
    round_robin(variants, repeats=args.repeats, block_seconds=args.block_seconds)
    print(f"timed in {time.perf_counter() - start:.0f} s, {args.repeats} repeats round-robin\n")
    print(report(variants, n_of))


if __name__ == "__main__":
    main()
