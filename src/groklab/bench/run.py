"""Run the benchmark: one population per (task, method) over the seeds, reused from the store
when done, timed where it trains, summarized with censoring-aware statistics.

    result = run_bench(["nanda-add"], ["adamw", "grokfast-ema"], size="quick", seeds=5,
                       store_root="groklab-runs", out_dir="bench")
    result.rows          # one dict per (task, method, seed), the columns of bench.csv
    result.summaries     # one per (task, method): medians, intervals, speed-up, throughput

Wall clock: a `Timer` sink sees each population start and end (for every backend, sinks run in
the driver process) and adds the seconds and steps it trained to `DIR/bench-times.json`, keyed
by run id, so a resumed population adds its parts and a reused one keeps what it cost. A run
trained elsewhere (another out folder) has no wall clock here: its cells say so.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from groklab.analysis import steps_to_threshold
from groklab.bench.methods import MATCHED, Method, get_method
from groklab.bench.stats import Estimate, median_with_interval, speedup
from groklab.bench.tasks import Task, get_task
from groklab.errors import GroklabError
from groklab.files import write_text_atomic
from groklab.spec import OptimSpec, RunSpec, TrainSpec, members_from
from groklab.sweep.base import Backend, SweepProgress
from groklab.train.options import TrainOptions

THRESHOLDS = (0.95, 0.99)
TIMES_FILE = "bench-times.json"


def bench_spec(task: Task, method: Method, size: str, seeds: Sequence[int]) -> RunSpec:
    """The population of `method` on `task` at `size`, one member per seed: the task's data,
    model and optimizer settings with the method's changes, stopping when every seed holds
    99 % validation accuracy."""
    why = method.refuses(task, size)
    if why is not None:
        raise GroklabError(why)
    s = task.size(size)
    return RunSpec(
        data=task.data(size),
        model=s.model,
        optim=OptimSpec(**{**task.optim, **method.optim}),
        train=TrainSpec(
            steps=s.steps,
            batch_size=s.batch_size,
            eval_every=s.eval_every,
            stop_at_val_acc=max(THRESHOLDS),
            loss=method.loss,
        ),
        members=members_from(
            seed=list(seeds),
            train_fraction=s.train_fraction,
            lr=float(
                f"{s.lr * method.lr_scale:.6g}"
            ),  # 3 x 3e-3 is 0.009, not 0.009000000000000001
            **method.member,
        ),
    )


class Timer:
    """A sink adding each run's training seconds and steps to a JSON file, {run_id: {seconds,
    steps}}; thread-safe, written atomically at each run's end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.started: dict[str, tuple[float, int]] = {}

    def read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise GroklabError(f"{self.path} is not a bench timing file ({e}); remove it") from None
        return data if isinstance(data, dict) else {}

    def on_start(self, run, step: int) -> None:
        self.started[run.run_id] = (time.monotonic(), step)

    def on_eval(self, event) -> None:
        pass

    def on_end(self, run_id: str, status: str, step: int) -> None:
        if run_id not in self.started:
            return
        t0, step0 = self.started.pop(run_id)
        with self.lock:
            times = self.read()
            mine = times.setdefault(run_id, {"seconds": 0.0, "steps": 0})
            mine["seconds"] = round(mine["seconds"] + time.monotonic() - t0, 3)
            mine["steps"] += step - step0
            write_text_atomic(self.path, json.dumps(times, indent=1, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Summary:
    task: str
    method: str
    seeds: int
    budget: int
    reached: dict[float, int]  # threshold -> seeds that reached it
    steps: dict[float, Estimate]  # threshold -> KM median steps to it, with its interval
    speedup: Estimate | None  # over the matched baseline's steps to 99 %; None for itself
    train_99: float  # median step at which training accuracy reached 99 % (nan: never)
    wall_s: float  # the population's training seconds (nan: not trained with this out folder)
    member_steps_per_s: float


@dataclass(frozen=True)
class BenchResult:
    size: str
    rows: list[dict]  # one per (task, method, seed): bench.csv
    summaries: list[Summary] = field(default_factory=list)
    curves: dict = field(default_factory=dict)  # (task, method) -> {"step": [S], "val_acc": [M, S]}

    def summary(self, task: str, method: str) -> Summary:
        return next(s for s in self.summaries if (s.task, s.method) == (task, method))


def check_selection(
    tasks: Sequence[str], methods: Sequence[str], seeds: int, size: str = "quick"
) -> None:
    """Refuse, before anything trains, what cannot run: an unknown name, seeds < 1, a method
    that does not apply to a task's model at the size."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise GroklabError(f"seeds={seeds!r} must be an integer >= 1")
    if not tasks or not methods:
        raise GroklabError("the benchmark needs at least one task and one method")
    for names, what in ((tasks, "task"), (methods, "method")):
        twice = sorted({n for n in names if list(names).count(n) > 1})
        if twice:
            raise GroklabError(f"{what} {twice[0]!r} is named twice; name each once")
    for name in tasks:
        get_task(name)
    for name in methods:
        get_method(name)
    for t in tasks:
        get_task(t).size(size)
        for m in methods:
            why = get_method(m).refuses(get_task(t), size)
            if why is not None:
                raise GroklabError(f"{why}; drop it from --methods or --tasks")


def run_bench(
    tasks: Sequence[str],
    methods: Sequence[str],
    *,
    size: str = "quick",
    seeds: int = 5,
    store_root: str | Path = "groklab-runs",
    out_dir: str | Path,
    backend: str | Backend = "local",
    options: TrainOptions | None = None,
    device: str | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> BenchResult:
    """Train (or read back) every (task, method) population and summarize it. `backend` is a
    name in groklab.sweep.BACKENDS or a backend object; the timing sink joins its sinks (a
    backend without sinks trains untimed: its cells say n/a). `options` say how each
    population trains (train/options.py; `device` is a shorthand for its field)."""
    from groklab.sweep.backend import get_backend
    from groklab.sweep.run import run_points

    tasks, methods = list(tasks), list(methods)
    check_selection(tasks, methods, seeds, size)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    timer = Timer(Path(out_dir) / TIMES_FILE)
    timer.read()  # a damaged timing file fails before training
    runner = get_backend(backend)
    if hasattr(runner, "sinks"):  # a copy: the caller's backend keeps its own sinks
        runner = copy.copy(runner)
        runner.sinks = (*runner.sinks, timer)
    cells = [(get_task(t), get_method(m)) for t in tasks for m in methods]
    points = []
    for task, method in cells:
        population = bench_spec(task, method, size, range(seeds))
        points += [replace(population, members=(m,)) for m in population.members]
    result = run_points(
        points,
        store_root,
        max_members=seeds,
        backend=runner,
        options=options,
        device=device,
        progress=progress,
    )
    times = timer.read()
    rows, summaries, curves = [], [], {}
    by_id = {r.run_id: r for r in result.results}
    for k, (task, method) in enumerate(cells):
        cell_rows = result.rows[k * seeds : (k + 1) * seeds]
        population = by_id[cell_rows[0]["run_id"]]
        if any(row["run_id"] != population.run_id for row in cell_rows):
            raise AssertionError("a (task, method) cell was split over populations")
        rows += _seed_rows(task, method, size, population, cell_rows, times.get(population.run_id))
        curves[(task.name, method.name)] = {
            "step": population.curves["step"],
            "val_acc": population.curves["val_acc"],
        }
    for task, method in cells:
        summaries.append(_summarize(task, method, size, rows, methods))
    return BenchResult(size, rows, summaries, curves)


def _seed_rows(task: Task, method: Method, size: str, population, cell_rows, timing) -> list:
    """One row per seed of a cell; `cell_rows` are run_points' rows of its seeds, in order."""
    steps, curves = population.curves["step"], population.curves
    n = curves["val_acc"].shape[0]
    to = {
        thr: np.atleast_1d(steps_to_threshold(steps, curves["val_acc"], thr)) for thr in THRESHOLDS
    }
    to_train = np.atleast_1d(steps_to_threshold(steps, curves["train_acc"], 0.99))
    seconds = float(timing["seconds"]) if timing else math.nan
    trained = int(timing["steps"]) if timing else 0
    per_s = n * trained / seconds if timing and seconds > 0 else math.nan
    rows = []
    for seed, row in enumerate(cell_rows):
        m = row["member"]
        evaluated = np.isfinite(curves["val_acc"][m])
        rows.append({
            "task": task.name, "size": size, "method": method.name, "seed": seed,
            "run_id": population.run_id, "member": m, "budget": task.size(size).steps,
            "steps_to_val_95": _num(to[0.95][m]), "steps_to_val_99": _num(to[0.99][m]),
            "steps_to_train_99": _num(to_train[m]),
            "final_val_acc": float(curves["val_acc"][m][evaluated][-1]),
            "steps_done": int(population.step),
            "population_wall_s": seconds, "population_member_steps_per_s": per_s,
        })  # fmt: skip
    return rows


def _num(x: float) -> float:
    return float(x) if np.isfinite(x) else math.nan


def _column(rows: list[dict], task: str, method: str, key: str) -> np.ndarray:
    return np.array([r[key] for r in rows if (r["task"], r["method"]) == (task, method)], float)


def _summarize(task: Task, method: Method, size: str, rows: list[dict], methods) -> Summary:
    budget = task.size(size).steps
    steps = {thr: _column(rows, task.name, method.name, f"steps_to_val_{round(thr * 100)}")
             for thr in THRESHOLDS}  # fmt: skip
    against = None
    if MATCHED in methods and method.name != MATCHED:
        base = _column(rows, task.name, MATCHED, "steps_to_val_99")
        against = speedup(base, steps[0.99], budget, budget)
    train = _column(rows, task.name, method.name, "steps_to_train_99")
    mine = [r for r in rows if (r["task"], r["method"]) == (task.name, method.name)]
    return Summary(
        task=task.name,
        method=method.name,
        seeds=len(mine),
        budget=budget,
        reached={thr: int(np.isfinite(v).sum()) for thr, v in steps.items()},
        steps={thr: median_with_interval(v, budget) for thr, v in steps.items()},
        speedup=against,
        train_99=float(np.median(train)) if np.isfinite(train).all() else math.nan,
        wall_s=mine[0]["population_wall_s"],
        member_steps_per_s=mine[0]["population_member_steps_per_s"],
    )
