"""How fast the run store writes and reads measures in long form (store schema 3).

A run of 8 members x 1,000 evaluations x 30 names (the six metrics and 24 parameter norms,
about a 4-layer transformer's), next to a second run of the same size: ms per evaluation's
write, and per read of the curves, of every measure and of the names (median of repeats).

    .venv/bin/python benchmarks/bench_store.py [--evals 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from groklab.store import METRICS, RunStore

N_MEMBERS, N_NORMS = 8, 24


def fill(store: RunStore, run_id: str, n_evals: int) -> float:
    """Write the run's evaluations; the median ms of one evaluation's write."""
    store.create_run(run_id, "{}", n_members=N_MEMBERS, summary="", members=[{}] * N_MEMBERS)
    rng = np.random.default_rng(0)
    times = []
    for e in range(n_evals):
        metrics = {name: rng.random(N_MEMBERS) for name in METRICS}
        norms = {f"blocks.{i // 4}.p{i % 4}": rng.random(N_MEMBERS) for i in range(N_NORMS)}
        start = time.perf_counter()
        store.write_metrics(run_id, 10 * e, metrics)
        store.write_layer_norms(run_id, 10 * e, norms)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root, RunStore(root) as store:
        write = fill(store, "r-aaaaaaaaaa", args.evals)
        fill(store, "r-bbbbbbbbbb", args.evals)
        rows = [
            ("write one evaluation (30 names x 8 members)", write),
            (
                "read_curves (6 metrics)",
                timed(lambda: store.read_curves("r-aaaaaaaaaa"), args.repeats),
            ),
            (
                "read_measures (all 30)",
                timed(lambda: store.read_measures("r-aaaaaaaaaa"), args.repeats),
            ),
            ("measure_names", timed(lambda: store.measure_names("r-aaaaaaaaaa"), args.repeats)),
        ]
    print(f"| {N_MEMBERS} members x {args.evals} evaluations x 30 names | ms |\n|---|---|")
    for what, ms in rows:
        print(f"| {what} | {ms:.1f} |")


if __name__ == "__main__":
    main()
