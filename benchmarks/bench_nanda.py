"""Nanda et al.'s mod-113 run to 99 % validation accuracy (issue 7, benchmark 4; goal <= 2 min).

The run: x+y mod 113 as [x, y, =], 30 % of the table for training, full batch, the
`nanda2023` transformer (1 layer, d 128, 4 heads, MLP 512, ReLU, no LayerNorm, learned
positions, init N(0,1)/sqrt(d)), AdamW lr 1e-3, betas (0.9, 0.98), weight decay 1, through
groklab's Python API `groklab.run.train(spec, RunStore(tmpdir))` with
`TrainSpec(stop_at_val_acc=0.99)`. The clock includes building the data and model and every
evaluation (one per `--eval-every` steps).

Three parts, each optional:
- `--step`: ms per training step and per full evaluation (round-robin, median of repeats), and
  each one's GEMM floor: its matmul FLOPs (counted as executed, forward and backward) at this
  run's sgemm rate. The run's floor is steps x step floor + evaluations x evaluation floor;
  `--step` prints the ratio a run would have at these rates (issue 15: within 1.3x);
- the run itself for each of `--seeds` (skip with `--seeds ''`), capped at `--max-seconds`;
- `--profile`: torch.profiler's top ops of the step (as profile_step.py does for Power's);
- `--members 1,16`: a step of populations of these sizes, per member-step, against each one's
  own-shape GEMM floor: the step's matrix products replayed alone at their shapes
  (`common.MatmulRecorder`), which run slower per FLOP than the 2048^3 calibration product.

    .venv/bin/python benchmarks/bench_nanda.py --step --profile --seeds 0 --threads 1
    .venv/bin/python benchmarks/bench_nanda.py --members 1,16 --seeds '' --threads 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass

import torch
from torch.profiler import ProfilerActivity, profile

from common import (
    Variant,
    busy_seconds,
    counted_flop,
    load_average,
    machine_info,
    markdown_table,
    population_table,
    round_robin,
    sgemm_calibration,
    wait_quiet,
)
from groklab.perf import tune_allocator
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train import Progress
from groklab.train.state import init_state, make_task
from groklab.train.step import build_loss_fn, evaluate, train_step

THRESHOLD = 0.99
MAX_STEPS = 40_000


def nanda_spec(seed: int | list[int], *, eval_every: int = 100, steps: int = MAX_STEPS) -> RunSpec:
    return RunSpec(
        data=DataSpec(op="add", p=113, layout="x_y_eq"),  # Nanda's [x, y, =]
        model=PRESETS["nanda2023"],
        train=TrainSpec(
            steps=steps, batch_size="full", eval_every=eval_every, stop_at_val_acc=THRESHOLD
        ),
        members=members_from(seed=seed, train_fraction=0.3, lr=1e-3, weight_decay=1.0),
    )


def step_closures(spec: RunSpec, *, compile: bool = False):
    """(one training step, one full evaluation) of a fresh state of `spec`, on CPU."""
    device = torch.device("cpu")
    task = make_task(spec, device)
    state = init_state(spec, task, device)
    loss_fn = build_loss_fn(state, task, spec, compile=compile)
    return (lambda: train_step(state, task, spec, loss_fn)), (lambda: evaluate(state, task, spec))


class OutOfTime(Exception):
    pass


@dataclass
class Outcome:
    seed: int
    steps: int | None  # first evaluated step at >= 99 % validation accuracy
    seconds: float  # wall clock until that evaluation (or until the cap)
    total_steps: int
    total_seconds: float
    other_cpu: float  # cores other processes used meanwhile


def run_seed(seed: int, spec: RunSpec, max_seconds: float, compile: bool) -> Outcome:
    first: list[tuple[int, float]] = []
    last = [0]

    def progress(p: Progress) -> None:
        elapsed = time.perf_counter() - start
        last[0] = p.step
        if not first and p.metrics["val_acc"][0] >= THRESHOLD:
            first.append((p.step, elapsed))
        if p.step % 1000 == 0:
            print(
                f"  seed {seed} step {p.step}: train {p.metrics['train_acc'][0]:.3f} "
                f"val {p.metrics['val_acc'][0]:.3f} after {elapsed:.0f} s",
                flush=True,
            )
        if elapsed > max_seconds:
            raise OutOfTime

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        busy0, own0 = busy_seconds()[0], time.process_time()
        start = time.perf_counter()
        try:
            total_steps = train(spec, store, device="cpu", progress=progress, compile=compile).step
        except OutOfTime:
            total_steps = last[0]
        total = time.perf_counter() - start
        other = max(0.0, busy_seconds()[0] - busy0 - (time.process_time() - own0)) / total
        store.close()
    steps, seconds = first[0] if first else (None, total)
    return Outcome(seed, steps, seconds, total_steps, total, other)


def time_steps(spec: RunSpec, repeats: int, eval_every: int) -> None:
    step, ev = step_closures(spec)
    flop = {"step": counted_flop(step), "evaluation": counted_flop(ev)}
    sgemm, sgemm_flop = sgemm_calibration()
    variants = [Variant("train step (full batch, 3,831)", step), Variant("evaluation (12,769)", ev)]
    variants.append(Variant("sgemm 2048^3 fp32", sgemm))
    round_robin(variants, repeats=repeats, block_seconds=3.0)
    peak = sgemm_flop / variants[2].per_call
    floors = [flop["step"] / peak, flop["evaluation"] / peak, variants[2].per_call]
    rows = [
        [v.name, f"{v.per_call * 1e3:.1f}", "-".join(f"{t * 1e3:.1f}" for t in v.spread),
         f"{f * 1e3:.1f}", f"{v.per_call / f:.2f}x", f"{v.n_quiet}/{len(v.samples)}",
         f"{v.other_cpu:.2f}"]
        for v, f in zip(variants, floors, strict=True)
    ]  # fmt: skip
    header = ["part", "ms (median)", "min-max ms", "GEMM floor ms", "x floor", "quiet blocks"]
    print("\n" + markdown_table(header + ["other-tenant cores"], rows) + "\n", flush=True)
    run = variants[0].per_call + variants[1].per_call / eval_every
    floor = floors[0] + floors[1] / eval_every
    print(
        f"GFLOP: step {flop['step'] / 1e9:.2f}, evaluation {flop['evaluation'] / 1e9:.2f}; sgemm "
        f"{peak / 1e9:.0f} GFLOP/s. Per step with one evaluation per {eval_every} steps: "
        f"{run * 1e3:.1f} ms vs a GEMM floor of {floor * 1e3:.1f} ms = {run / floor:.2f}x "
        f"(goal <= 1.3x). Load average {load_average()}.\n",
        flush=True,
    )


def profile_step(spec: RunSpec, steps: int, top: int) -> None:
    step, _ = step_closures(spec)
    for _ in range(3):
        step()
    wait_quiet()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    averages = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in averages)
    rows = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    print("\n| op | input shapes | calls/step | self CPU ms/step | % of self CPU |")
    print("|---|---|---|---|---|")
    for e in rows:
        ms, share = e.self_cpu_time_total / 1e3 / steps, e.self_cpu_time_total / total
        shapes = str(e.input_shapes).replace("|", "/")
        print(f"| `{e.key}` | `{shapes}` | {e.count / steps:.0f} | {ms:.2f} | {share:.1%} |")
    print(f"\nself CPU total: {total / 1e3 / steps:.1f} ms/step (profiler overhead included)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; '' skips the run")
    parser.add_argument("--max-seconds", type=float, default=2400.0, help="cap per seed")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--compile", action="store_true", help="train with compile=True")
    parser.add_argument("--step", action="store_true", help="time one step and one evaluation")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the training step")
    parser.add_argument("--members", default="", help="population sizes to compare, e.g. 1,16")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned = tune_allocator()
    print(f"machine: {machine_info()}; tune_allocator: {tuned}", flush=True)
    spec = nanda_spec(0, eval_every=args.eval_every)
    if args.step:
        time_steps(spec, args.repeats, args.eval_every)
    if args.profile:
        profile_step(spec, steps=5, top=15)
    if args.members:
        sizes = [int(m) for m in args.members.split(",")]
        steps = {m: step_closures(nanda_spec(list(range(m))))[0] for m in sizes}
        print("\n" + population_table(steps, args.repeats) + "\n", flush=True)
    outcomes = []
    for seed in (int(s) for s in args.seeds.split(",") if s.strip()):
        wait_quiet(timeout=30.0)
        spec = nanda_spec(seed, eval_every=args.eval_every)
        o = run_seed(seed, spec, args.max_seconds, args.compile)
        outcomes.append(o)
        print(f"seed {seed}: {o}", flush=True)
    if outcomes:
        rows = [
            [str(o.seed), "not reached" if o.steps is None else f"{o.steps:,}", f"{o.seconds:.0f}",
             f"{o.total_steps:,}", f"{o.total_seconds:.0f}",
             f"{1e3 * o.total_seconds / max(1, o.total_steps):.0f}", f"{o.other_cpu:.2f}"]
            for o in outcomes
        ]  # fmt: skip
        header = ["seed", "steps to 99 % val", "s to 99 % val", "steps at return",
                  "s at return", "ms/step (incl. eval)", "other-tenant cores"]  # fmt: skip
        print("\n" + markdown_table(header, rows))


if __name__ == "__main__":
    main()
