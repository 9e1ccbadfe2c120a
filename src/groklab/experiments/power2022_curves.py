"""Power et al. 2022, Fig. 1 left: x / y (mod 97) with 50 % of the table for training. Train
accuracy is near 100 % within 10^3 steps; validation accuracy stays near chance and jumps to
~100 % orders of magnitude later: near 10^6 steps with the paper's plain Adam (no weight decay),
within a few thousand with AdamW and weight decay 1. The paper size trains both; quick trains
the AdamW run until validation accuracy holds at 99 %.

Compute at the paper size: the Adam run's 10^6 steps are about 9 CPU core-hours (~32 ms per
member-step on one quiet core of the 2-vCPU AMD EPYC in benchmarks/RESULTS.md §21); the AdamW
run stops near 5,000 steps (minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes

from groklab.experiments import common, kit
from groklab.experiments.base import ExperimentContext
from groklab.experiments.claims import GROKKING_DELAY, claim, delay, steps_at
from groklab.plots.curves import plot_accuracy
from groklab.plots.power2022 import mark_threshold_steps
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from

TITLE = "Power et al. 2022, Fig. 1 left"
MICRO_TRANSFORMER = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)


@dataclass(frozen=True)
class CurveRun:
    """One panel of the figure: an optimizer and how long to train it."""

    name: str
    label: str
    optimizer: str
    weight_decay: float
    steps: int
    eval_every: int
    stop_at_val_acc: float = 0.0  # 0: train the whole budget, as the paper's curves do


ADAM = CurveRun("adam", "Adam, no weight decay", "adam", 0.0, 1_000_000, 1000)
ADAMW = CurveRun("adamw", "AdamW, weight decay 1", "adamw", 1.0, 100_000, 100)


@dataclass(frozen=True)
class CurvesSize:
    op: str
    p: int
    train_fraction: float
    model: ModelSpec
    batch_size: str
    lr: float
    seed: int
    runs: tuple[CurveRun, ...]


QUICK_RUNS = (replace(ADAMW, steps=10_000, stop_at_val_acc=0.99),)
MICRO_RUNS = (replace(ADAM, steps=30, eval_every=10), replace(ADAMW, steps=30, eval_every=10))
SIZES = kit.size_table(
    CurvesSize,
    "p model batch_size lr runs",
    {
        "paper": (97, PRESETS["power2022"], "power", 1e-3, (ADAM, ADAMW)),
        "quick": (97, PRESETS["power2022"], "power", 1e-3, QUICK_RUNS),
        "micro": (7, MICRO_TRANSFORMER, "full", 1e-2, MICRO_RUNS),
    },
    op="div",
    train_fraction=0.5,
    seed=0,
)


def run_spec(size: CurvesSize, run: CurveRun) -> RunSpec:
    stop = run.stop_at_val_acc
    train = TrainSpec(run.steps, size.batch_size, run.eval_every, stop_at_val_acc=stop)
    member = {"seed": size.seed, "train_fraction": size.train_fraction, "lr": size.lr}
    members = members_from(**member, weight_decay=run.weight_decay)
    optim, data = OptimSpec(optimizer=run.optimizer), DataSpec(op=size.op, p=size.p)
    return RunSpec(data, size.model, optim, train=train, members=members)


def run_notes(size: CurvesSize, paper: CurvesSize) -> list[str]:
    """The paper's runs `size` leaves out, and the budget or early stop of those it keeps."""
    names = [r.name for r in size.runs]
    notes = [
        f"'{run.label}' run omitted (paper: {run.steps:,} steps)"
        for run in paper.runs
        if run.name not in names
    ]
    for run in size.runs:
        ref = next(r for r in paper.runs if r.name == run.name)
        stop = (
            f", stopped at the first evaluation with val acc >= {run.stop_at_val_acc:.0%}"
            if run.stop_at_val_acc
            else ""
        )
        if run.steps != ref.steps or stop:
            notes.append(f"{run.label}: budget {run.steps:,} steps (paper {ref.steps:,}){stop}")
    return notes


NOTES = (common.P, common.MODEL, common.BATCH, run_notes)  # its settings, then its runs


NUMBERS = kit.header(
    "steps_to_train | steps_to_val | delay | final_train_acc | final_val_acc | steps_done"
)
TABLE = {
    "run": "run",
    "budget": "budget",
    "steps_to_train": "steps to 99 % train",
    "steps_to_val": "steps to 99 % val",
    "delay": "delay",
    "final_val_acc": "final val acc",
}


def draw_run(ax: Axes, run: CurveRun, curves: dict[str, np.ndarray], row: dict) -> Axes:
    """One panel: train and validation accuracy, dotted where each first reached 99 %."""
    plot_accuracy(ax, curves)
    mark_threshold_steps(ax, row["steps_to_train"], row["steps_to_val"])
    ax.legend(loc="center left", fontsize=8)
    ax.set_title(f"{run.label} (budget {run.steps:,} steps)", fontsize=10)
    return ax


def outcome(size: CurvesSize, ctx: ExperimentContext, shrunk: str) -> kit.Outcome:
    result = common.train_points([run_spec(size, r) for r in size.runs], ctx, max_members=1)
    fig = build_figure(len(size.runs), figsize=(max(8.0, 5.5 * len(size.runs) + 1), 4.8))
    rows, tables = [], {}
    for ax, run, row in zip(fig.axes, size.runs, result.rows, strict=True):
        member = tables[f"curves_{run.name}.csv"] = common.member_curves(
            result, row, evaluated_only=True
        )
        draw_run(ax, run, member, row)
        delay = row["steps_to_val"] - row["steps_to_train"]
        settings = {"optimizer": run.optimizer, "weight_decay": run.weight_decay}
        rows.append({"run": run.name, **settings, "budget": run.steps, **row, "delay": delay})
    task = f"{common.describe_op(size.op, size.p)}, {size.train_fraction:.0%} training data"
    notes = (
        f"Task: {task}; model: {common.describe_model(size.model)}; lr {size.lr:g}, "
        f"10 warm-up steps, seed {size.seed}. Steps are the first evaluated step at or "
        "above 99 %; 'never' means not within the budget."
    )
    title = f"{TITLE}: {task}, {common.describe_model(size.model)}"
    files = kit.Files(
        [kit.Drawing("curves.png", fig, title)], {**tables, "curves_summary.csv": rows}
    )
    return kit.Outcome(kit.by_run(rows, NUMBERS), kit.table_of(rows, TABLE), notes, files)


DESCRIPTION = "x/y mod 97 at 50 %: train vs validation accuracy (the grokking delay)"
CLAIMS = (
    claim(
        "Training accuracy is close to perfect in under 10^3 optimization steps (Sec. 3.1, Fig. 1 "
        "left) "
        "| < 10^3 steps | steps to 99 % train, Adam | <= 1000",
        steps_at("adam.steps_to_train"),
        sizes=("paper",),
    ),
    claim(
        "Validation accuracy is near perfect only close to 10^6 steps, with little sign of "
        "generalization before 10^5 (Sec. 3.1, Fig. 1 left; Adam, no weight decay) "
        "| ~10^6 steps | steps to 99 % validation, Adam | in [1e5, 1e6]",
        steps_at("adam.steps_to_val"),
        sizes=("paper",),
    ),
    claim(
        "Training accuracy is close to perfect in under 10^3 optimization steps (Sec. 3.1) "
        "| < 10^3 steps | steps to 99 % train, AdamW wd 1 | <= 1000",
        steps_at("adamw.steps_to_train"),
        sizes=("quick",),
        note="quick trains AdamW with weight decay 1, not the paper's Adam",
    ),
    claim(
        "Generalization comes long after the training set is fitted: a delay of at least 10^3 "
        "steps (grokking as Liu et al. 2022 define it) "
        "| ~10^5-10^6 steps with Adam | steps from 99 % train to 99 % validation, AdamW wd 1 | >= "
        f"{GROKKING_DELAY}",
        delay("adamw"),
        within_budget=True,
        sizes=("quick",),
        note="quick shows the delay with AdamW wd 1, far shorter than Adam's",
    ),
)
STUDY = kit.declare(
    "power2022-curves", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "curves.md", claims=CLAIMS
)
