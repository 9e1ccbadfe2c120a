"""The grokking check that `--dtype auto` needs before it may pick bf16 (train/precision.py).

For each task, one population of several seeds trains in float32 and one in bf16 autocast (the
same seeds, hence the same splits and initial weights), each member until 99 % validation
accuracy or the step cap. bf16 passes a task when every bf16 seed reaches 99 % and the median
bf16 steps-to-99 % lies within the float32 seeds' range (their seed noise). The check passes on
a device when it passes all three tasks:
- `main`: the README's main job, x/y mod 97, 50 % train, power2022, batch 512;
- `nanda`: Nanda et al.'s x+y mod 113, 30 % train, nanda2023, full batch: `groklab bench`'s
  nanda-add at the paper size with its matched baseline (AdamW lr 1e-3, wd 1, betas
  (0.9, 0.98), 10 warm-up steps, evaluated every 50 steps), so with `--store` the float32
  population is also the benchmark's (`groklab bench --paper --tasks nanda-add --methods adamw
  --seeds N --store DIR` reads it back for seeds 0..N-1);
- `omnigrok`: omnigrok-modadd's quick baseline, x+y mod 59, 50 %, nanda2023 at d 64, full batch.

Only meaningful where bf16 is fast (a CPU with AMX or AVX512-BF16, or a CUDA GPU): on an AVX2
CPU a bf16 step is ~19x slower and the script refuses unless --anyway. After a pass, put the
printed table in benchmarks/RESULTS.md and set `GROKKING_CHECKED[<device type>] = True`.

    .venv/bin/python benchmarks/bench_precision.py --device cuda [--seeds 0-4] [--tasks main,nanda]
        [--store DIR]
    (CPU: up to ~1 h per task and dtype at 5 seeds; a GPU: minutes. With --store DIR the runs
    are kept there and a second call reuses the finished ones: an interrupted check resumes.)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from common import machine_info, markdown_table
from groklab.bench.methods import MATCHED, get_method
from groklab.bench.run import bench_spec
from groklab.bench.tasks import get_task
from groklab.perf import tune_allocator
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train.precision import fast_bf16

TASKS = {
    "main": lambda seeds, cap: RunSpec(
        data=DataSpec(op="div", p=97),
        model=PRESETS["power2022"],
        train=TrainSpec(steps=cap, batch_size=512, stop_at_val_acc=0.99),
        members=members_from(seed=seeds, train_fraction=0.5),
    ),
    "nanda": lambda seeds, cap: capped(
        bench_spec(get_task("nanda-add"), get_method(MATCHED), "paper", seeds), cap
    ),
    "omnigrok": lambda seeds, cap: RunSpec(
        data=DataSpec(op="add", p=59),
        model=replace(PRESETS["nanda2023"], d_model=64, n_heads=4, d_mlp=256),
        train=TrainSpec(steps=cap, batch_size="full", stop_at_val_acc=0.99),
        members=members_from(seed=seeds, train_fraction=0.5),
    ),
}
CAPS = {"main": 20_000, "nanda": 0, "omnigrok": 10_000}  # 0: the benchmark's own budget


def capped(spec: RunSpec, cap: int) -> RunSpec:
    return replace(spec, train=replace(spec.train, steps=cap)) if cap else spec


def seed_list(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def steps_to_val(spec: RunSpec, device: str, root: str | None) -> tuple[np.ndarray, float]:
    """Each member's first evaluated step at >= 99 % validation (nan: not within the cap), and
    the seconds this call trained. `root`: a store kept there (None: a temporary one)."""
    with contextlib.ExitStack() as stack:
        root = root or stack.enter_context(tempfile.TemporaryDirectory())
        store = stack.enter_context(RunStore(root))
        start = time.perf_counter()
        result = train(spec, store, device=device)
        return result.steps_to_val, time.perf_counter() - start


def verdict(fp32: np.ndarray, bf16: np.ndarray) -> tuple[bool, str]:
    if np.isnan(bf16).any():
        return False, f"{int(np.isnan(bf16).sum())} bf16 seed(s) never reached 99 %"
    reached = fp32[~np.isnan(fp32)]
    if not reached.size:
        return False, "no float32 seed reached 99 %: raise the cap"
    median = statistics.median(bf16.tolist())
    lo, hi = reached.min(), reached.max()
    ok = lo <= median <= hi
    return ok, f"bf16 median {median:.0f} {'within' if ok else 'outside'} float32 {lo:.0f}-{hi:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,1,2")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"of {', '.join(TASKS)}")
    parser.add_argument("--anyway", action="store_true", help="run without fast bf16 too")
    parser.add_argument("--steps", type=int, default=0, help="cap every task here (smoke test)")
    parser.add_argument("--store", help="keep the runs in this store (default: a temporary one)")
    args = parser.parse_args()
    device, seeds = torch.device(args.device), seed_list(args.seeds)
    reason = fast_bf16(device)
    print(f"machine: {machine_info()}; device {device}; fast bf16: {reason or 'no'}")
    if reason is None and not args.anyway:
        raise SystemExit("no fast bf16 on this device: the check would take days; see --anyway")
    tune_allocator()
    rows, passed = [], True
    for name in args.tasks.split(","):
        runs = {}
        for dtype in ("float32", "bf16"):
            base = TASKS[name](seeds, args.steps or CAPS[name])
            spec = replace(base, train=replace(base.train, dtype=dtype))
            print(f"{name} {dtype}: run {spec.run_id}", flush=True)
            runs[dtype] = steps_to_val(spec, str(device), args.store)
            print(f"{name} {dtype}: steps to 99 % val {runs[dtype][0].tolist()}", flush=True)
        ok, why = verdict(runs["float32"][0], runs["bf16"][0])
        passed &= ok
        for dtype, (steps, seconds) in runs.items():
            shown = ", ".join("-" if s != s else f"{s:.0f}" for s in steps)
            rows.append([name, dtype, shown, f"{seconds:.0f}", why if dtype == "bf16" else ""])
    header = ["task", "dtype", f"steps to 99 % val, seeds {args.seeds}", "wall s", "verdict"]
    print("\n" + markdown_table(header, rows))
    kind = device.type
    print(
        f"\ncheck {'PASSED' if passed else 'FAILED'} on {kind}"
        + (f": set GROKKING_CHECKED[{kind!r}] = True in train/precision.py" if passed else "")
    )


if __name__ == "__main__":
    main()
