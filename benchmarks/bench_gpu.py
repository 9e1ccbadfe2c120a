"""Member-steps per second on one device for populations of M = 1, 8, 64, 256 (eager and
compiled), and one population of 64 against 64 runs one after another: the numbers a GPU run
of `benchmarks/gpu_check.sh` records (issue: populations that pay; a GPU script ready to run).

    python benchmarks/bench_gpu.py --device cuda --out gpu.md
    python benchmarks/bench_gpu.py --device cpu --members 1,2 --steps 5 --tasks power   # smoke

Tasks: `power` is the README's main job (x/y mod 97, 50 %, power2022, batch 512), `nanda` Nanda
et al.'s (x+y mod 113, 30 %, nanda2023, full batch). A step is timed after warm-up steps (the
compiled variant compiles there), with the device synchronized around the timed steps; the
median of `--repeats` timings is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from common import machine_info
from groklab.spec import PRESETS, DataSpec, RunSpec, TrainSpec, members_from
from groklab.train.state import init_state, make_task
from groklab.train.step import build_loss_fn, train_step

TASKS = {
    "power": lambda m: RunSpec(
        data=DataSpec(op="div", p=97),
        model=PRESETS["power2022"],
        train=TrainSpec(batch_size=512),
        members=members_from(seed=list(range(m)), train_fraction=0.5),
    ),
    "nanda": lambda m: RunSpec(
        data=DataSpec(op="add", p=113),
        model=PRESETS["nanda2023"],
        train=TrainSpec(batch_size="full"),
        members=members_from(seed=list(range(m)), train_fraction=0.3),
    ),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def steps_per_second(spec: RunSpec, device: torch.device, *, compile: bool, steps: int,
                     warmup: int, repeats: int) -> float:  # fmt: skip
    """Population steps per second (multiply by M for member-steps)."""
    task = make_task(spec, device)
    state = init_state(spec, task, device)
    loss_fn = build_loss_fn(state, task, spec, compile=compile)
    for _ in range(warmup):
        train_step(state, task, spec, loss_fn)
    timings = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            train_step(state, task, spec, loss_fn)
        sync(device)
        timings.append(time.perf_counter() - start)
    return steps / statistics.median(timings)


def throughput_table(args, device: torch.device) -> str:
    rows = ["| task | M | eager member-steps/s | compiled member-steps/s | compiled / eager |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name in args.tasks:
        for m in args.members:
            spec = TASKS[name](m)
            timed = {}
            for compile in (False, True):
                try:
                    timed[compile] = m * steps_per_second(
                        spec, device, compile=compile, steps=args.steps,
                        warmup=args.warmup, repeats=args.repeats,
                    )  # fmt: skip
                except (RuntimeError, torch.cuda.OutOfMemoryError) as e:  # one cell, not all
                    print(f"{name} M={m} compile={compile}: {type(e).__name__}: {e}"[:300])
                    timed[compile] = float("nan")
            eager, compiled = timed[False], timed[True]
            ratio = compiled / eager
            rows.append(f"| {name} | {m} | {eager:,.0f} | {compiled:,.0f} | {ratio:.2f} |")
            print(rows[-1], flush=True)
    return "\n".join(rows)


def population_against_sequential(args, device: torch.device) -> str:
    """One population of `n` members against `n` one-member runs one after another (eager),
    the same number of steps each; the population's wall time and the sum of the runs'."""
    n = args.population
    rows = ["| task | members | one population (s) | one run after another (s) | ratio |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name in args.tasks:
        spec = TASKS[name](n)
        kw = dict(compile=False, steps=args.steps, warmup=args.warmup, repeats=1)
        together = args.steps / steps_per_second(spec, device, **kw)
        alone = sum(
            args.steps / steps_per_second(replace(spec, members=(member,)), device, **kw)
            for member in spec.members
        )
        rows.append(f"| {name} | {n} | {together:.2f} | {alone:.2f} | {alone / together:.1f}x |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tasks", default="power,nanda")
    parser.add_argument("--members", default="1,8,64,256")
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the Markdown here too")
    args = parser.parse_args()
    args.tasks = [t for t in args.tasks.split(",") if t]
    args.members = [int(m) for m in args.members.split(",")]
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; allowed: {', '.join(TASKS)}")
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else machine_info()
    text = "\n\n".join([
        f"Device: {where}; torch {torch.__version__}; {args.steps} timed steps x "
        f"{args.repeats} repeats after {args.warmup} warm-up steps (median).",
        "### Member-steps per second\n\n" + throughput_table(args, device),
        f"### One population of {args.population} against {args.population} runs one after "
        "another\n\n" + population_against_sequential(args, device),
    ])  # fmt: skip
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
