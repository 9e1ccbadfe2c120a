"""Wall clock to 99 % validation accuracy on the main job, groklab vs the reference.

The main job is Power et al.'s x/y mod 97, 50 % train, 2-layer transformer, AdamW lr 1e-3,
weight decay 1, batch 512. groklab runs through its Python API, `groklab.train.train(spec,
RunStore(tmpdir))` with `TrainSpec(stop_at_val_acc=0.99, steps=20000)`; the reference is
benchmarks/reference.py (`ReferenceRun`, the engine of `run_reference_to_threshold`). Both use
the same seed, hence the same train/validation split, and both clocks include building the model
and every evaluation.

Interleaved (the default, because this 2-core machine is shared): the reference advances to
groklab's step inside groklab's progress callback (every evaluation, i.e. every 100 steps), so
contention from other processes hits both sides alike; each side's clock counts only its own
work. `--sequential` runs one after the other instead (alternating who goes first per seed).

groklab stops after `stop_patience` evaluations in a row at >= 99 % (1 by default), so two
times are reported for it: when an evaluation first showed >= 99 % (compared with the
reference, which stops at its first such evaluation) and when `train()` returned.

    .venv/bin/python benchmarks/bench_main_job.py [--seeds 0,1,2] [--max-seconds 400]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass

import torch

from common import busy_seconds, machine_info, markdown_table, wait_quiet
from groklab.perf import tune_allocator
from groklab.run import train
from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train import Progress
from reference import ReferenceRun

THRESHOLD = 0.99
MAX_STEPS = 20_000


class OutOfTime(Exception):
    pass


@dataclass
class Outcome:
    steps: int | None  # step of the first evaluation at >= 99 %; None if never within the cap
    seconds: float  # own wall clock until then (or until the cap)
    total_steps: int
    total_seconds: float  # own wall clock until the run returned


class Meter:
    """Cores used by other processes while the block ran."""

    def __enter__(self) -> Meter:
        self.busy, self.own, self.t = busy_seconds()[0], time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t
        busy = busy_seconds()[0] - self.busy
        self.other = max(0.0, busy - (time.process_time() - self.own)) / wall


def groklab_spec(seed: int) -> RunSpec:
    return RunSpec(
        data=DataSpec(op="div", p=97),
        train=TrainSpec(stop_at_val_acc=THRESHOLD, steps=MAX_STEPS),
        members=members_from(seed=[seed]),
    )


def run_groklab(seed: int, max_seconds: float, ref: ReferenceRun | None = None) -> Outcome:
    """groklab's train(); with `ref`, the reference catches up at every evaluation."""
    first: list[tuple[int, float]] = []
    last = [0]
    away = [0.0]  # seconds spent on the reference inside the callback

    def progress(p: Progress) -> None:
        now = time.perf_counter()
        elapsed = now - start - away[0]
        last[0] = p.step
        if not first and p.metrics["val_acc"][0] >= THRESHOLD:
            first.append((p.step, elapsed))
        if ref is not None and not ref.finished:
            ref.advance(until_step=p.step)
            away[0] += time.perf_counter() - now
        if elapsed > max_seconds:
            raise OutOfTime

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        start = time.perf_counter()
        try:
            total_steps = train(groklab_spec(seed), store, device="cpu", progress=progress).step
        except OutOfTime:
            total_steps = last[0]
        total = time.perf_counter() - start - away[0]
        store.close()
    steps, seconds = first[0] if first else (None, total)
    return Outcome(steps, seconds, total_steps, total)


def reference_outcome(ref: ReferenceRun) -> Outcome:
    ref.advance()  # to the end (alone, if groklab finished first)
    assert ref.ref is not None
    seconds = ref.seconds if ref.hit_seconds is None else ref.hit_seconds
    return Outcome(ref.steps, seconds, ref.ref.step, ref.seconds)


def run_seed(seed: int, max_seconds: float, sequential: bool, first: str) -> dict[str, Outcome]:
    ref = ReferenceRun(seed, THRESHOLD, max_steps=MAX_STEPS, max_seconds=max_seconds)
    if not sequential:
        return {"groklab": run_groklab(seed, max_seconds, ref), "reference": reference_outcome(ref)}
    runs = {
        "groklab": lambda: run_groklab(seed, max_seconds),
        "reference": lambda: reference_outcome(ref),
    }
    order = ["groklab", "reference"] if first == "groklab" else ["reference", "groklab"]
    out = {}
    for name in order:
        wait_quiet(timeout=30.0)
        out[name] = runs[name]()
    return out


def fmt_steps(n: int | None) -> str:
    return "not reached" if n is None else f"{n:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--max-seconds", type=float, default=400.0, help="cap per run and side")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--sequential", action="store_true", help="one side after the other")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned = tune_allocator()
    print(f"machine: {machine_info()}")
    print(f"tune_allocator() applied to both sides: {tuned}")
    print(f"mode: {'sequential' if args.sequential else 'interleaved every evaluation'}")
    rows, ratios = [], []
    for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
        wait_quiet(timeout=30.0)
        with Meter() as meter:
            first = "groklab" if i % 2 == 0 else "reference"
            out = run_seed(seed, args.max_seconds, args.sequential, first)
        g, r = out["groklab"], out["reference"]
        ratio = g.seconds / r.seconds if g.steps and r.steps else float("nan")
        ratios.append(ratio)
        for name, o in (("groklab", g), ("reference", r)):
            ms = 1e3 * o.total_seconds / max(1, o.total_steps)
            print(
                f"seed {seed} {name}: 99 % at step {fmt_steps(o.steps)} after {o.seconds:.1f} s; "
                f"returned at step {o.total_steps} after {o.total_seconds:.1f} s ({ms:.1f} ms/step)"
                f"; other-tenant cores {meter.other:.2f}",
                flush=True,
            )
            rows.append(
                [
                    str(seed),
                    name,
                    fmt_steps(o.steps),
                    f"{o.seconds:.1f}",
                    f"{o.total_steps:,}",
                    f"{o.total_seconds:.1f}",
                    f"{ms:.1f}",
                    f"{meter.other:.2f}",
                    f"{ratio:.2f}" if name == "groklab" else "",
                ]
            )
    header = [
        "seed",
        "side",
        "steps to 99 % val",
        "s to 99 % val",
        "steps at return",
        "s at return",
        "ms/step (incl. eval)",
        "other-tenant cores",
        "groklab / reference (s to 99 %)",
    ]
    print()
    print(markdown_table(header, rows))
    finite = [x for x in ratios if x == x]
    if finite:
        print(f"\nmedian ratio groklab/reference (s to 99 %): {statistics.median(finite):.2f}")


if __name__ == "__main__":
    main()
