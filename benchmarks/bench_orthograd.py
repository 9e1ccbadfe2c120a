"""A population of 16 ⊥AdamW members to 99 % validation on every member, against a loop of 16
single runs of the same members (issue 12's speed goal: the population within 75 s on 2 CPU
cores, about the cost of 16 x 150 steps of one member).

The recipe is prieto2025's ⊥AdamW run (`groklab reproduce prieto2025`): x+y mod 113, 40 %
train, full batch, the `prieto2025` MLP (one-hot [x; y] -> 200 -> 200 -> 113, no biases), AdamW
lr 1e-2, betas (0.9, 0.99), wd 0, the `orthograd` transform, seeds 0-15, evaluated every 10
steps, stopping once every member holds 99 % validation accuracy (budget 400 steps). Both sides
go through `groklab.train.train(spec, RunStore(tmpdir))`, so each clock includes building the
task and the model, every evaluation and the store's writes. The loop trains member k alone
(seed k): the same member as in the population (a member trains the same alone or among
others), so both sides do the same steps up to the population waiting for its slowest member.

Repeats alternate which side goes first; each records the load average and the CPU that other
processes used meanwhile (the machine is shared), and the medians are reported.

    .venv/bin/python benchmarks/bench_orthograd.py [--repeats 3] [--members 16] [--threads auto]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np

from common import busy_seconds, machine_info, markdown_table
from groklab.experiments.prieto2025 import RECIPES, SIZES, recipe_spec
from groklab.perf import set_threads, tune_allocator
from groklab.run import train
from groklab.spec import RunSpec
from groklab.store import RunStore

GOAL_SECONDS = 75.0  # the goal for the population
BUDGET = 400  # steps; the measurement: 99 % validation near step 110-150


def orthograd_spec(seeds: list[int]) -> RunSpec:
    """prieto2025's ⊥AdamW run at the paper's size, one member per seed."""
    recipe = next(r for r in RECIPES if r.name == "orthograd")
    one = recipe_spec(SIZES["paper"], recipe, 0)
    members = tuple(replace(one.members[0], seed=s) for s in seeds)
    return replace(one, train=replace(one.train, steps=BUDGET), members=members)


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float  # this process's CPU time: the wall clock a quiet core would take (1 thread)
    other_cores: float  # cores other processes used meanwhile, on average
    load: float  # the 1-minute load average at the end
    steps: list[float]  # steps to 99 % validation, per member
    steps_run: list[int]  # steps each training call ran


def timed(specs: list[RunSpec]) -> Timed:
    """Train each spec in a fresh store, one after another; the wall clock of all of them."""
    busy0, _ = busy_seconds()
    own0, start = time.process_time(), time.perf_counter()
    to_val, run = [], []
    with tempfile.TemporaryDirectory() as root, RunStore(root) as store:
        for spec in specs:
            result = train(spec, store)
            to_val += result.steps_to_val.tolist()
            run.append(result.step)
    seconds, cpu = time.perf_counter() - start, time.process_time() - own0
    busy1, _ = busy_seconds()
    other = max(0.0, (busy1 - busy0) - cpu) / seconds
    return Timed(seconds, cpu, other, os.getloadavg()[0], to_val, run)


def member_steps(t: Timed, side: str, members: int) -> int:
    """Member-steps trained: the population's steps times its members, or the loop's sum."""
    return t.steps_run[0] * members if side == "population" else sum(t.steps_run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--threads", default="auto", help="torch threads (groklab's --threads)")
    args = parser.parse_args()
    tune_allocator()
    threads = set_threads(args.threads)
    seeds = list(range(args.members))
    population = [orthograd_spec(seeds)]
    loop = [orthograd_spec([s]) for s in seeds]
    print(machine_info(), f"threads used: {threads}", flush=True)
    results: dict[str, list[Timed]] = {"population": [], "loop": []}
    for repeat in range(args.repeats):
        order = ("population", "loop") if repeat % 2 == 0 else ("loop", "population")
        for side in order:
            t = timed(population if side == "population" else loop)
            results[side].append(t)
            reached = int(np.isfinite(t.steps).sum())
            print(f"repeat {repeat} {side}: {t.seconds:.1f} s ({t.cpu_seconds:.1f} CPU s),"
                  f" {reached}/{args.members} at 99 %,"
                  f" steps to 99 % median {np.nanmedian(t.steps):.0f} max {np.nanmax(t.steps):.0f},"
                  f" steps run {max(t.steps_run)}, other processes {t.other_cores:.2f} cores,"
                  f" load {t.load:.2f}", flush=True)  # fmt: skip
    rows = []
    for side, runs in results.items():
        seconds = [t.seconds for t in runs]
        cpu = [t.cpu_seconds for t in runs]
        all_reached = all(np.isfinite(t.steps).all() for t in runs)
        rows.append([side, f"{statistics.median(seconds):.1f}",
                     ", ".join(f"{s:.1f}" for s in seconds), f"{statistics.median(cpu):.1f}",
                     "yes" if all_reached else "no",
                     f"{np.nanmedian(runs[0].steps):.0f} / {np.nanmax(runs[0].steps):.0f}",
                     str(member_steps(runs[0], side, args.members)),
                     ", ".join(f"{t.other_cores:.2f}" for t in runs),
                     ", ".join(f"{t.load:.1f}" for t in runs)])  # fmt: skip
    header = ["side", "median s", "each repeat s", "median CPU s", "every member at 99 %",
              "steps to 99 % median / max", "member-steps trained", "other cores",
              "load average"]  # fmt: skip
    print(markdown_table(header, rows))
    pop = statistics.median(t.seconds for t in results["population"])
    one = statistics.median(t.seconds for t in results["loop"])
    verdict = "met" if pop <= GOAL_SECONDS else "not met"
    print(f"population {pop:.1f} s vs loop {one:.1f} s: {one / pop:.2f}x; goal <= 75 s: {verdict}")
    pop_cpu = statistics.median(t.cpu_seconds for t in results["population"])
    one_cpu = statistics.median(t.cpu_seconds for t in results["loop"])
    print(f"CPU seconds: population {pop_cpu:.1f}, loop {one_cpu:.1f} ({one_cpu / pop_cpu:.2f}x)")


if __name__ == "__main__":
    main()
