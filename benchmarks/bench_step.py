"""Per-step time of the Power et al. model at batch 512 on this CPU, groklab vs the reference.

All variants run in one process, round-robin, median of repeats, so drift hits all alike:
- `reference`: benchmarks/reference.py, one nn.Module + torch.optim.AdamW;
- `groklab M=1`: groklab's `train_step` on a one-member population (fp32);
- `groklab M=8/16`: one population of 8 (16) members, per-member and aggregate rates;
- `reference loop x8/x16`: a Python loop stepping 8 (16) independent reference models;
- calibration: a 2048^3 sgemm (the fp32 peak right now) and one 2048x128x512 matmul in fp32 and
  in bf16 (Power's MLP-in shape; bf16 has no fast path on an AVX2-only CPU).
`groklab.perf.tune_allocator()` (glibc mallopt) is applied once, so it holds for both sides.

Own-FLOP floor: each step's matmul FLOPs are counted (torch.utils.flop_counter, forward and
backward, as executed, so the exact rewrites' savings are in it) and divided by this run's sgemm
rate; "x own floor" is the measured time over that. The goals of issue 15 are checked at the end.

Both sides draw batches the same way: a fresh permutation of the 4,656 training examples per
epoch, cut into 9 batches of exactly 512 (the 48 left over wait for the next permutation). If
either side had a short last batch, blocks would be whole epochs and "ms per 512 examples"
rescales the epoch-average step to the examples it processed.

    .venv/bin/python benchmarks/bench_step.py [--repeats 5] [--block-seconds 1] [--bf16-step]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from common import (
    Variant,
    counted_flop,
    load_average,
    machine_info,
    markdown_table,
    other_cpu_now,
    round_robin,
    sgemm_calibration,
)
from groklab.perf import tune_allocator
from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
from groklab.train.batches import BatchSampler
from groklab.train.state import Task, TrainState, init_state, make_task
from groklab.train.step import evaluate as g_evaluate
from groklab.train.step import train_step
from reference import (
    BATCH_SIZE,
    Reference,
    build_reference,
    next_batch,
    reference_evaluate,
    reference_step,
)

# Dense fp32 training FLOPs of one Power step at B=512, T=4 (2*M*K*N per matmul; train = 3x fwd).
POWER_STEP_FLOP = 5.01e9


def groklab_parts(n_members: int, *, dtype: str = "float32") -> tuple[RunSpec, TrainState, Task]:
    spec = RunSpec(
        data=DataSpec(op="div", p=97),
        train=TrainSpec(dtype=dtype),
        members=members_from(seed=list(range(n_members))),
    )
    device = torch.device("cpu")
    task = make_task(spec, device)
    return spec, init_state(spec, task, device), task


def groklab_variant(n_members: int, *, dtype: str = "float32") -> tuple[RunSpec, object]:
    spec, state, task = groklab_parts(n_members, dtype=dtype)
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


def batch_sizes(ref: Reference) -> list[int]:
    """Batch sizes of one epoch; checks that groklab's sampler draws the same sizes."""
    n_train = len(ref.train_idx)
    probe = build_reference(0, drop_last=ref.drop_last)
    sizes = [len(next_batch(probe)) for _ in range(math.ceil(n_train / BATCH_SIZE))]
    spec = RunSpec(data=DataSpec(op="div", p=97))
    task = make_task(spec, torch.device("cpu"))
    sampler = BatchSampler(task.masks, [0], spec.train.batch_size)
    theirs = [sampler.next()[0].shape[1] for _ in range(len(sizes))]
    if theirs != sizes:
        raise SystemExit(f"batch sizes differ: reference {sizes}, groklab {theirs}")
    return sizes


def build_variants(
    members: list[int], bf16_step: bool, evaluate: bool = True
) -> tuple[list[Variant], dict[str, int], float]:
    """The variants, members per call of each, and batches of 512 per step (epoch average)."""
    sgemm, _ = sgemm_calibration()
    ref = build_reference(0)
    sizes = batch_sizes(ref)
    epoch = 1 if set(sizes) == {BATCH_SIZE} else len(sizes)  # blocks are whole epochs
    print(f"batch sizes over one epoch (both sides): {sizes}")
    variants = [
        Variant("sgemm 2048^3 fp32", sgemm),
        Variant("matmul 2048x128x512 fp32", matmul(2048, 128, 512, torch.float32)),
        Variant("matmul 2048x128x512 bf16", matmul(2048, 128, 512, torch.bfloat16)),
        Variant("reference", lambda: reference_step(ref), quantum=epoch),
        Variant("groklab M=1", groklab_variant(1)[1], quantum=epoch),
    ]
    n_of = {"reference": 1, "groklab M=1": 1}
    if bf16_step:
        bf16 = groklab_variant(1, dtype="bf16")[1]
        variants.append(Variant("groklab M=1 bf16", bf16, quantum=epoch))
        n_of["groklab M=1 bf16"] = 1
    if evaluate:
        g_spec, g_state, g_task = groklab_parts(1)
        g_eval = lambda: g_evaluate(g_state, g_task, g_spec)  # noqa: E731
        variants.append(Variant("groklab evaluate M=1", g_eval))
        variants.append(Variant("reference evaluate", lambda: reference_evaluate(ref)))
        n_of["groklab evaluate M=1"] = n_of["reference evaluate"] = 1
    for m in members:
        variants.append(Variant(f"groklab M={m}", groklab_variant(m)[1], quantum=epoch))
        variants.append(Variant(f"reference loop x{m}", reference_loop(m), quantum=epoch))
        n_of[f"groklab M={m}"] = n_of[f"reference loop x{m}"] = m
    return variants, n_of, sum(sizes) / BATCH_SIZE / len(sizes)


def floor_and_goals(variants: list[Variant], n_of: dict[str, int], flop: dict[str, float]) -> str:
    """Own-FLOP floors of the counted variants and issue 15's goals, measured in this run."""
    by_name = {v.name: v for v in variants}
    peak = 2.0 * 2048**3 / by_name["sgemm 2048^3 fp32"].per_call
    rows = []
    for name, f in flop.items():
        per_member = by_name[name].per_call / n_of[name]
        floor = f / n_of[name] / peak
        rows.append([name, f"{f / n_of[name] / 1e9:.2f}", f"{floor * 1e3:.1f}"])
        rows[-1] += [f"{per_member * 1e3:.1f}", f"{per_member / floor:.2f}x"]
    header = ["variant", "GFLOP per member-step (counted)", "own-FLOP floor ms"]
    table = markdown_table(header + ["measured ms per member-step", "x own floor"], rows)
    ref = by_name["reference"].per_call
    m1 = by_name["groklab M=1"].per_call
    goals = [f"- M=1 fp32 vs reference: {ref / m1:.2f}x (goal >= 3x)"]
    if "groklab M=1" in flop:
        floor = flop["groklab M=1"] / peak
        goals.append(f"- M=1 vs its own-FLOP floor: {m1 / floor:.2f}x (goal <= 1.5x)")
    for m in sorted({n for n in n_of.values() if n > 1}):
        pop, loop = by_name.get(f"groklab M={m}"), by_name.get(f"reference loop x{m}")
        if pop and loop:
            goals.append(
                f"- M={m} vs a loop of {m} references: {loop.per_call / pop.per_call:.2f}x"
            )
    return table + "\n\nGoals (issue 15):\n" + "\n".join(goals)


def report(variants: list[Variant], n_of: dict[str, int], batches_per_step: float) -> str:
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
                f"{v.n_quiet}/{len(v.samples)}",
                f"{v.other_cpu:.2f}",
            ]
        )
    ref_rate = 1.0 / by_name["reference"].per_call
    roofline = POWER_STEP_FLOP / peak
    rows = []
    evals = [v for v in variants if "evaluate" in v.name]
    for v in variants[3:]:
        if v in evals:
            continue
        m = n_of[v.name]
        per_member = v.per_call / m
        per_512 = per_member / batches_per_step
        lo, hi = v.spread
        rows.append(
            [
                v.name,
                str(m),
                f"{v.per_call * 1e3:.1f}",
                f"{lo * 1e3:.1f}-{hi * 1e3:.1f}",
                f"{per_member * 1e3:.1f}",
                f"{per_512 * 1e3:.1f}",
                f"{1.0 / per_member:.1f}",
                f"{(1.0 / per_member) / ref_rate:.2f}x",
                f"{roofline / per_512:.0%}",
                f"{v.n_quiet}/{len(v.samples)}",
                f"{v.other_cpu:.2f}",
            ]
        )
    calib_header = ["calibration", "median ms", "min-max ms", "GFLOP/s"]
    calib = markdown_table(calib_header + ["quiet blocks", "other-tenant cores"], calib_rows)
    steps = markdown_table(
        [
            "variant",
            "members",
            "ms per call (median)",
            "min-max ms",
            "ms per member-step",
            "ms per member per 512 examples",
            "member-steps/s",
            "vs reference",
            "% of dense fp32 roofline",
            "quiet blocks",
            "other-tenant cores",
        ],
        rows,
    )
    eval_rows = [
        [
            v.name,
            f"{v.per_call * 1e3:.0f}",
            f"{v.spread[0] * 1e3:.0f}-{v.spread[1] * 1e3:.0f}",
            f"{v.per_call / by_name['reference evaluate'].per_call:.2f}x",
            f"{v.per_call * 1e3 / 100:.1f}",
            f"{v.n_quiet}/{len(v.samples)}",
        ]
        for v in evals
    ]
    if eval_rows:
        eval_header = ["full evaluation (train + val, 9,312 examples)", "median ms", "min-max ms"]
        eval_header += ["vs reference", "ms per step at one per 100 steps", "quiet blocks"]
        steps += "\n\n" + markdown_table(eval_header, eval_rows)
    steal = statistics.median(s.steal for v in variants for s in v.samples)
    note = (
        f"A step averages {batches_per_step:.3f} batches of 512. Median hypervisor steal over "
        f"all blocks: {steal:.3f} cores. "
        f"Dense fp32 roofline of one Power step at B=512: {POWER_STEP_FLOP / 1e9:.2f} GFLOP / "
        f"{peak / 1e9:.0f} GFLOP/s (this run's sgemm) = {roofline * 1e3:.1f} ms."
    )
    return f"{calib}\n\n{steps}\n\n{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block-seconds", type=float, default=1.0)
    parser.add_argument("--members", default="8,16", help="population sizes, e.g. 8,16")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--bf16-step", action="store_true", help="also time a bf16 groklab step")
    parser.add_argument("--raw", action="store_true", help="print every timed block")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation timings")
    parser.add_argument(
        "--quiet-timeout", type=float, default=10.0, help="s to wait for quiet before each block"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned = tune_allocator()
    print(f"machine: {machine_info()}")
    print(f"tune_allocator() applied to both sides: {tuned}")
    print(f"other-tenant cores at start: {other_cpu_now(1.0):.2f}; load average {load_average()}")
    members = [int(x) for x in args.members.split(",") if x]
    variants, n_of, batches_per_step = build_variants(
        members, args.bf16_step, evaluate=not args.no_evaluate
    )
    by_name = {v.name: v for v in variants}
    counted = ["reference", "groklab M=1", *(f"groklab M={m}" for m in members)]
    flop = {name: counted_flop(by_name[name].fn) for name in counted}
    start = time.perf_counter()
    round_robin(
        variants,
        repeats=args.repeats,
        block_seconds=args.block_seconds,
        quiet_timeout=args.quiet_timeout,
    )
    print(f"timed in {time.perf_counter() - start:.0f} s, {args.repeats} repeats round-robin\n")
    if args.raw:
        for v in variants:
            blocks = ", ".join(
                f"{1e3 * s.seconds / s.calls:.1f}ms/{s.calls}@{s.other_cpu:.2f}" for s in v.samples
            )
            print(f"raw {v.name}: {blocks}")
    print(report(variants, n_of, batches_per_step))
    print("\n" + floor_and_goals(variants, n_of, flop))
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
