"""What thread-independent numbers cost (issue 13 item 2): MKL's strict reproducible mode and
train/reduce.py's fixed-order sums, side by side.

MKL's mode is fixed at its first call, so each mode runs in its own child process; children of
the two modes alternate, `--rounds` times, and each reports medians of its own repeats:
- `sgemm 2048^3`: fp32 GFLOP/s;
- `Power step M=1`: groklab's train_step on div mod 97 at batch 512 (fp32), ms;
- `⊥Grad Power step M=1`: the same with the orthograd transform, whose sums over each
  parameter now go through `fixed_sum`;
at `--threads` (default 2 and 1). In the parent: `fixed_sum` vs `torch.sum` over one member's
flat [1, P] Power gradient (P = 422,656), µs.
Every child also prints the load it saw (other processes' cores, from /proc/stat).

    .venv/bin/python benchmarks/bench_determinism.py [--rounds 3] [--threads 2,1] [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODES = {"default": "", "strict": "AUTO,STRICT"}  # MKL_CBWR; "" = MKL's own default

CHILD = r"""
import json, os, statistics, sys, time
threads, repeats = int(sys.argv[1]), int(sys.argv[3])
import groklab  # sets MKL_CBWR only where it is unset: the parent set it (maybe to "")
import torch
from groklab.perf import blas_is_reproducible, tune_allocator
from groklab.spec import DataSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.train.state import init_state, make_task
from groklab.train.step import train_step
sys.path.insert(0, os.path.dirname(sys.argv[2]))
from common import other_cpu_now
tune_allocator()
torch.set_num_threads(threads)
strict = blas_is_reproducible()

def median_ms(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3

a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
sgemm = 2 * 2048**3 / median_ms(lambda: a @ b, 5) / 1e6
out = {"strict": strict, "sgemm GFLOP/s": sgemm, "other cores": other_cpu_now()}
for name, transforms in (("Power step M=1", ()), ("⊥Grad Power step M=1", ("orthograd",))):
    spec = RunSpec(data=DataSpec(op="div", p=97), optim=OptimSpec(transforms=transforms),
                   train=TrainSpec(), members=members_from(seed=0))
    task = make_task(spec, torch.device("cpu"))
    state = init_state(spec, task, torch.device("cpu"))
    out[name + " ms"] = median_ms(lambda: train_step(state, task, spec), repeats)
out["other cores, after"] = other_cpu_now()
print(json.dumps(out))
"""


def run_child(mode: str, threads: int, repeats: int) -> dict:
    env = {**os.environ, "MKL_CBWR": MODES[mode], "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), os.path.abspath(__file__), str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def sum_cost(repeats: int = 50) -> dict[str, float]:
    import torch

    from groklab.train.reduce import fixed_sum

    grad = torch.randn(1, 422_656)
    out = {}
    for name, fn in (("torch.sum", lambda: grad.sum(1)), ("fixed_sum", lambda: fixed_sum(grad, 1))):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times) * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="2,1")
    parser.add_argument("--repeats", type=int, default=15, help="timed steps per child")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import machine_info

    print(machine_info(), "| load average", os.getloadavg())
    results: dict[tuple[str, int], list[dict]] = {}
    for r in range(args.rounds):
        for threads in [int(t) for t in args.threads.split(",")]:
            for mode in MODES if r % 2 == 0 else reversed(list(MODES)):
                sample = run_child(mode, threads, args.repeats)
                results.setdefault((mode, threads), []).append(sample)
                print(f"round {r} {mode} threads={threads}: {sample}", flush=True)
    keys = [k for k in next(iter(results.values()))[0] if k != "strict"]
    print("\n| mode | threads | MKL strict | " + " | ".join(keys) + " |")
    print("|---" * (3 + len(keys)) + "|")
    for (mode, threads), samples in results.items():
        medians = [statistics.median(s[k] for s in samples) for k in keys]
        strict = {s["strict"] for s in samples}
        print(
            f"| {mode} | {threads} | {strict} | " + " | ".join(f"{m:.2f}" for m in medians) + " |"
        )
    print("\none member's flat gradient [1, 422656], median µs:", sum_cost())


if __name__ == "__main__":
    main()
