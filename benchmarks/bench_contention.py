"""How a groklab step slows down when another process keeps one of the 2 cores busy.

On this shared 2-core VM, other jobs often keep a core busy. This times groklab's M=1 step
with 2 and 1 torch threads, quiet and next to a busy-loop process that this script starts
(and stops by its pid), round-robin in one process, whole epochs per block.

    .venv/bin/python benchmarks/bench_contention.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from bench_step import groklab_variant
from common import Sample, machine_info, markdown_table, timed_block, wait_quiet
from groklab.perf import tune_allocator

EPOCH = 10  # steps per epoch of the Power batch rule on x/y mod 97, 50 %


def start_hog() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def timed_epoch(step, hog: bool) -> Sample:
    wait_quiet()
    proc = start_hog() if hog else None
    try:
        time.sleep(0.2 if hog else 0.0)
        step()  # settle
        return timed_block(step, EPOCH)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tune_allocator()
    print(f"machine: {machine_info()}")
    _, step = groklab_variant(1)
    step()
    times: dict[tuple[int, bool], list[float]] = {}
    others: dict[tuple[int, bool], list[float]] = {}
    for _ in range(args.repeats):
        for hog in (False, True):
            for threads in (2, 1):
                torch.set_num_threads(threads)
                for _attempt in range(3):  # retry blocks where other tenants joined in
                    sample = timed_epoch(step, hog)
                    if sample.other_cpu - hog <= 0.25:
                        break
                times.setdefault((threads, hog), []).append(sample.seconds / EPOCH)
                others.setdefault((threads, hog), []).append(sample.other_cpu - hog)
    quiet2 = statistics.median(times[(2, False)])
    rows = [
        [
            str(threads),
            "busy loop on one core" if hog else "quiet",
            f"{statistics.median(t) * 1e3:.1f}",
            f"{min(t) * 1e3:.1f}-{max(t) * 1e3:.1f}",
            f"{statistics.median(t) / quiet2:.2f}x",
            f"{statistics.median(others[(threads, hog)]):.2f}",
        ]
        for (threads, hog), t in times.items()
    ]
    header = ["threads", "load", "ms/step (median)", "min-max", "vs 2 threads quiet"]
    header.append("other tenants' cores (hog excluded)")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
