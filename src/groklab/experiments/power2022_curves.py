"""Power et al. 2022, Fig. 1 left: x / y (mod 97) with 50 % of the table for training. Train
accuracy is near 100 % within 10^3 steps; validation accuracy stays near chance and jumps to
~100 % orders of magnitude later: near 10^6 steps with the paper's plain Adam (no weight decay),
within a few thousand with AdamW and weight decay 1. The paper size trains both; quick trains
the AdamW run until validation accuracy holds at 99 %.

Numbers: the first evaluated step with train and with validation accuracy >= 99 %, and the
delay between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
    register,
    write_markdown,
)
from groklab.plots.curves import plot_accuracy
from groklab.plots.power2022 import mark_threshold_steps, title_with_shrunk
from groklab.plots.style import build_figure, save_figure
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import write_curves_csv
from groklab.sweep import SweepProgress, SweepResult, SweepSpec, expand, pack, run_sweep
from groklab.sweep.run import write_rows_csv

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
SIZES = {
    "paper": {"op": "div", "p": 97, "train_fraction": 0.5, "model": PRESETS["power2022"],
              "batch_size": "power", "lr": 1e-3, "seed": 0, "runs": (ADAM, ADAMW)},
    "quick": {"op": "div", "p": 97, "train_fraction": 0.5, "model": PRESETS["power2022"],
              "batch_size": "power", "lr": 1e-3, "seed": 0,
              "runs": (CurveRun("adamw", ADAMW.label, "adamw", 1.0, 10_000, 100, 0.99),)},
    "micro": {"op": "div", "p": 7, "train_fraction": 0.5, "model": MICRO_TRANSFORMER,
              "batch_size": "full", "lr": 1e-2, "seed": 0,
              "runs": (CurveRun("adam", ADAM.label, "adam", 0.0, 30, 10),
                       CurveRun("adamw", ADAMW.label, "adamw", 1.0, 30, 10))},
}  # fmt: skip


def describe_model(model: ModelSpec) -> str:
    """'transformer 2x128 (4 heads, MLP 512)' or 'MLP, 1 hidden layer of 256 on 64-d embeddings'."""
    m = model
    if m.arch == "mlp":
        layers = f"{m.n_layers} hidden layer{'s' if m.n_layers > 1 else ''}"
        return f"MLP, {layers} of {m.d_mlp} on {m.d_model}-d embeddings"
    return f"transformer {m.n_layers}x{m.d_model} ({m.n_heads} heads, MLP {m.d_mlp})"


def run_spec(size: dict, run: CurveRun) -> RunSpec:
    train = TrainSpec(
        steps=run.steps,
        batch_size=size["batch_size"],
        eval_every=run.eval_every,
        stop_at_val_acc=run.stop_at_val_acc,
    )
    members = members_from(
        seed=size["seed"],
        train_fraction=size["train_fraction"],
        lr=size["lr"],
        weight_decay=run.weight_decay,
    )
    return RunSpec(
        data=DataSpec(op=size["op"], p=size["p"]),
        model=size["model"],
        optim=OptimSpec(optimizer=run.optimizer),
        train=train,
        members=members,
    )


def run_sweeps(sweeps: Sequence[SweepSpec], ctx: ExperimentContext) -> list[SweepResult]:
    """`run_sweep` on each sweep in turn, reporting progress over all of them as one sweep
    (so one progress bar counts every member-step of the experiment)."""
    sizes = [_sweep_size(sweep) for sweep in sweeps]  # (populations, members, member-steps)
    total = tuple(map(sum, zip(*sizes, strict=True)))
    results = []
    for i, sweep in enumerate(sweeps):
        done = tuple(map(sum, zip((0, 0, 0), *sizes[:i], strict=True)))
        progress = None if ctx.progress is None else _shifted(ctx.progress, done, total)
        results.append(
            run_sweep(
                sweep, ctx.store_root, backend=ctx.backend, device=ctx.device, progress=progress
            )
        )
    return results


def _sweep_size(sweep: SweepSpec) -> tuple[int, int, int]:
    points = expand(sweep)
    return len(pack(points, sweep.max_members)), len(points), sum(p.train.steps for p in points)


def _shifted(
    progress: Callable[[SweepProgress], None], done: tuple, total: tuple
) -> Callable[[SweepProgress], None]:
    """A sweep's events, counted after the `done` (populations, members, steps) before it."""

    def report(event: SweepProgress) -> None:
        progress(
            SweepProgress(
                done[0] + event.populations_done,
                total[0],
                done[1] + event.members_done,
                total[1],
                done[2] + event.step,
                total[2],
            )
        )

    return report


def member_curves(result: SweepResult, row: dict) -> dict[str, np.ndarray]:
    """The curves of one row's member: {"step": [S], metric: [1, S]}, evaluated steps only."""
    population = next(r for r in result.results if r.run_id == row["run_id"])
    curves = {
        k: v[row["member"] : row["member"] + 1] for k, v in population.curves.items() if k != "step"
    }
    seen = np.isfinite(curves["val_acc"][0])  # a packed member may skip others' steps
    return {"step": population.curves["step"][seen], **{k: v[:, seen] for k, v in curves.items()}}


def shrunk_text(size: dict) -> str:
    paper = SIZES["paper"]
    if size is paper:
        return ""
    notes = []
    if size["p"] != paper["p"]:
        notes.append(f"p = {size['p']} (paper {paper['p']})")
    if size["model"] != paper["model"]:
        model, paper_model = describe_model(size["model"]), describe_model(paper["model"])
        notes.append(f"model {model} (paper {paper_model})")
    if size["batch_size"] != paper["batch_size"]:
        notes.append(f"batch {size['batch_size']} (paper min(512, |train|/2))")
    names = [r.name for r in size["runs"]]
    for run in paper["runs"]:
        if run.name not in names:
            notes.append(f"'{run.label}' run omitted (paper: {run.steps:,} steps)")
    for run in size["runs"]:
        ref = next(r for r in paper["runs"] if r.name == run.name)
        stop = (
            f", stopped once validation accuracy held >= {run.stop_at_val_acc:.0%}"
            if run.stop_at_val_acc
            else ""
        )
        if run.steps != ref.steps or stop:
            notes.append(f"{run.label}: budget {run.steps:,} steps (paper {ref.steps:,}){stop}")
    return "; ".join(notes)


NUMBERS = ("steps_to_train", "steps_to_val", "delay", "final_train_acc", "final_val_acc",
           "steps_done")  # fmt: skip
TABLE = {"run": "run", "budget": "budget", "steps_to_train": "steps to 99 % train",
         "steps_to_val": "steps to 99 % val", "delay": "delay",
         "final_val_acc": "final val acc"}  # fmt: skip


def draw_run(ax: Axes, run: CurveRun, curves: dict[str, np.ndarray], row: dict) -> Axes:
    """One panel: train and validation accuracy, dotted where each first reached 99 %."""
    plot_accuracy(ax, curves)
    mark_threshold_steps(ax, row["steps_to_train"], row["steps_to_val"])
    ax.legend(loc="center left", fontsize=8)
    ax.set_title(f"{run.label} (budget {run.steps:,} steps)", fontsize=10)
    return ax


def run(ctx: ExperimentContext) -> ExperimentResult:
    size = SIZES[ctx.size]
    shrunk = shrunk_text(size)
    results = run_sweeps([SweepSpec(run_spec(size, r)) for r in size["runs"]], ctx)
    fig = build_figure(len(size["runs"]), figsize=(max(8.0, 5.5 * len(size["runs"]) + 1), 4.8))
    paths, rows = [ctx.out_dir / "curves.png"], []
    for ax, run_, result in zip(fig.axes, size["runs"], results, strict=True):
        row, curves = result.rows[0], member_curves(result, result.rows[0])
        draw_run(ax, run_, curves, row)
        rows.append({"run": run_.name, "optimizer": run_.optimizer,
                     "weight_decay": run_.weight_decay, "budget": run_.steps, **row,
                     "delay": row["steps_to_val"] - row["steps_to_train"]})  # fmt: skip
        paths.append(ctx.out_dir / f"curves_{run_.name}.csv")
        write_curves_csv(curves, paths[-1])
    task = f"x / y (mod {size['p']}), {size['train_fraction']:.0%} training data"
    title_with_shrunk(fig, f"{TITLE}: {task}, {describe_model(size['model'])}", shrunk)
    save_figure(fig, paths[0])
    paths.append(ctx.out_dir / "curves_summary.csv")
    write_rows_csv(rows, paths[-1])
    table = markdown_table(list(TABLE.values()), [[r[k] for k in TABLE] for r in rows])
    notes = (
        f"Task: {task}; model: {describe_model(size['model'])}; lr {size['lr']:g}, "
        f"10 warm-up steps, seed {size['seed']}. Steps are the first evaluated step at or "
        "above 99 %; 'never' means not within the budget."
    )
    md = write_markdown(ctx.out_dir / "curves.md", title=TITLE, table=table, shrunk=shrunk,
                        notes=notes)  # fmt: skip
    numbers = {r["run"]: {k: r[k] for k in NUMBERS} for r in rows}
    return ExperimentResult([*paths, md], table, shrunk, numbers)


DESCRIPTION = "x/y mod 97 at 50 %: train vs validation accuracy (the grokking delay)"
register(Experiment("power2022-curves", TITLE, DESCRIPTION, run))
