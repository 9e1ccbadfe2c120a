"""Where the time of one groklab training step goes: torch.profiler's top ops by self CPU time.

.venv/bin/python benchmarks/profile_step.py [--members 1] [--steps 20] [--reference]
"""

from __future__ import annotations

import argparse
import time

from torch.profiler import ProfilerActivity, profile

from bench_step import groklab_variant
from common import machine_info, wait_quiet
from groklab.perf import tune_allocator
from reference import build_reference, reference_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--reference", action="store_true", help="profile the reference instead")
    parser.add_argument("--shapes", action="store_true", help="group ops by input shapes")
    args = parser.parse_args()
    tuned = tune_allocator()
    print(f"machine: {machine_info()}; tune_allocator: {tuned}")
    if args.reference:
        ref = build_reference(0)
        name, step = "reference", lambda: reference_step(ref)
    else:
        name, step = f"groklab M={args.members}", groklab_variant(args.members)[1]
    for _ in range(5):
        step()
    wait_quiet()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    plain = (time.perf_counter() - start) / args.steps
    wait_quiet()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=args.shapes) as prof:
        for _ in range(args.steps):
            step()
    print(f"{name}: {plain * 1e3:.1f} ms/step unprofiled; profile over {args.steps} steps")
    averages = prof.key_averages(group_by_input_shape=args.shapes)
    total = sum(e.self_cpu_time_total for e in averages)
    rows = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[: args.top]
    print("\n| op | calls/step | self CPU ms/step | % of self CPU |")
    print("|---|---|---|---|")
    for e in rows:
        ms, share = e.self_cpu_time_total / 1e3 / args.steps, e.self_cpu_time_total / total
        key = f"{e.key} {e.input_shapes}" if args.shapes else e.key
        print(f"| `{key}` | {e.count / args.steps:.0f} | {ms:.2f} | {share:.1%} |")
    print(f"\nself CPU total: {total / 1e3 / args.steps:.1f} ms/step (profiler overhead included)")


if __name__ == "__main__":
    main()
