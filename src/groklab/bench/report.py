"""The benchmark's outputs: bench.md (a leaderboard per task), bench.csv (a row per seed) and
bench.png (per task, the share of seeds at 99 % validation accuracy against step).

A leaderboard sorts methods by their Kaplan-Meier median steps to 99 % (a method whose median
is censored sorts last, by seeds reached), marks the baselines, and gives each cell's interval,
its speed-up over the matched baseline and what its steps cost on this machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from groklab.bench.methods import BASELINES, MATCHED, get_method
from groklab.bench.run import BenchResult, Summary
from groklab.bench.stats import Estimate, reached_share
from groklab.bench.tasks import get_task
from groklab.files import write_text_atomic

HEADER = ("method", "seeds at 95 %", "seeds at 99 %", "median steps to 95 % [95 % CI]",
          "median steps to 99 % [95 % CI]", "speed-up vs AdamW wd 1 [95 % CI]",
          "train 99 % (median step)", "wall s", "member-steps/s")  # fmt: skip


def steps_text(e: Estimate, budget: int) -> str:
    """'1,200 [950, 1,400]'; a censored median or bound reads '> budget'."""

    def one(x: float) -> str:
        if math.isnan(x):
            return "n/a"
        return f"> {budget:,}" if math.isinf(x) else f"{x:,.0f}"

    return f"{one(e.value)} [{one(e.low)}, {one(e.high)}]"


def speedup_text(e: Estimate | None, bound: float = math.nan) -> str:
    """'2.50x [1.80x, 3.10x]'. A speed-up of 0 means the method's median was past the budget
    (in the data, or in a bootstrap resample for an interval end): all we know is that it is
    below `bound`, the baseline's median over the budget, so it reads '< bound'. A speed-up of
    inf (only the baseline past the budget) reads 'inf'."""
    if e is None:
        return "(baseline)"

    def one(x: float) -> str:
        if math.isnan(x):
            return "n/a"
        if x == 0:
            return f"< {bound:.2f}x" if math.isfinite(bound) else "< 1x"
        return "inf" if math.isinf(x) else f"{x:.2f}x"

    if math.isnan(e.value):
        return "n/a (both > budget)"
    if e.value == 0:
        return f"{one(0.0)} (past the budget)"
    return f"{one(e.value)} [{one(e.low)}, {one(e.high)}]"


def _order(s: Summary) -> tuple:
    median = s.steps[0.99].value
    return (math.isinf(median), median if math.isfinite(median) else -s.reached[0.99])


def _cost(x: float, digits: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.{digits}f}"


def task_table(summaries: Sequence[Summary]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    base = next((s for s in summaries if s.method == MATCHED), None)
    bound = math.nan if base is None else base.steps[0.99].value / base.budget
    for s in sorted(summaries, key=_order):
        method = get_method(s.method)
        name = f"**{method.name}** (baseline)" if s.method in BASELINES else method.name
        cells = (
            f"{name}: {method.label}",
            f"{s.reached[0.95]}/{s.seeds}",
            f"{s.reached[0.99]}/{s.seeds}",
            steps_text(s.steps[0.95], s.budget),
            steps_text(s.steps[0.99], s.budget),
            speedup_text(s.speedup, bound) if s.method != MATCHED else "(baseline)",
            "never" if math.isnan(s.train_99) else f"{s.train_99:,.0f}",
            _cost(s.wall_s, 1),
            _cost(s.member_steps_per_s, 0),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_markdown(result: BenchResult, *, machine: str, command: str = "") -> str:
    tasks = list(dict.fromkeys(s.task for s in result.summaries))
    methods = list(dict.fromkeys(s.method for s in result.summaries))
    seeds = result.summaries[0].seeds if result.summaries else 0
    out = [
        f"# groklab bench, {result.size} size",
        "",
        f"Machine: {machine}.",
        *([f"Command: `{command}`."] if command else []),
        "",
        f"{seeds} seeds per (task, method), trained as one population; a run stops when every "
        "seed holds 99 % validation accuracy. Medians are Kaplan-Meier medians with seeds that "
        "never reached the threshold censored at the budget ('> budget': half the seeds or "
        "more never did); intervals are 95 % percentile bootstraps over seeds. The speed-up is "
        "the matched baseline's median steps to 99 % over the method's (> 1: faster). Wall "
        "seconds are the population's training time here, evaluation included; member-steps/s "
        "= seeds x steps / wall seconds: a method that saves steps but costs more per step "
        "shows it there.",
    ]
    for name in tasks:
        task = get_task(name)
        mine = [s for s in result.summaries if s.task == name]
        shrunk = task.shrunk(result.size)
        out += [
            "",
            f"## {task.name}: {task.title}",
            "",
            f"Setup: {task.paper}. Budget {mine[0].budget:,} steps."
            + (f" Shrunk from the paper: {shrunk}." if shrunk else ""),
            "",
            task_table(mine),
        ]
    out += ["", "## How each method was set", ""]
    for name in methods:
        method = get_method(name)
        scale = f" lr x{method.lr_scale:g} of the task's." if method.lr_scale != 1 else ""
        out.append(f"- **{method.name}** ({method.citation}): {method.settings}.{scale}")
    return "\n".join(out) + "\n"


def draw_bench(result: BenchResult, path: Path) -> None:
    """Per task, the share of seeds at 99 % validation accuracy against step (log axis), one
    line per method; the baselines dashed."""
    from groklab.plots.style import build_figure, save_figure

    tasks = list(dict.fromkeys(s.task for s in result.summaries))
    fig = build_figure(len(tasks), figsize=(4.2 * len(tasks), 3.6))
    for ax, name in zip(fig.axes, tasks, strict=True):
        mine = [s for s in result.summaries if s.task == name]
        budget = mine[0].budget
        grid = np.unique(np.geomspace(1, budget, 200).round())
        for s in mine:
            values = [r["steps_to_val_99"] for r in result.rows
                      if (r["task"], r["method"]) == (name, s.method)]  # fmt: skip
            style = "--" if s.method in BASELINES else "-"
            ax.step(grid, reached_share(values, grid), style, where="post", label=s.method)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("step")
        ax.set_title(f"{name} ({result.size})", fontsize=9)
    fig.axes[0].set_ylabel("share of seeds at 99 % val. acc.")
    fig.axes[-1].legend(fontsize=6, loc="upper left")
    save_figure(fig, path)


def write_bench(result: BenchResult, out_dir: str | Path, *, command: str = "") -> list[Path]:
    """bench.md, bench.csv and bench.png in `out_dir`."""
    from groklab.perf import machine_text
    from groklab.sweep import write_rows_csv

    out = Path(out_dir)
    md, csv, png = out / "bench.md", out / "bench.csv", out / "bench.png"
    write_text_atomic(md, bench_markdown(result, machine=machine_text(), command=command))
    write_rows_csv(result.rows, csv)
    draw_bench(result, png)
    return [md, csv, png]
