"""Power et al. 2022, Fig. 2 center/right: which training choices buy generalization.

On one task, across training fractions, compare AdamW with weight decay 1 toward the origin
(the paper's setting) with weight decay toward the initialization, Adam + L2, plain Adam, and
plain Adam plus one source of noise each (dropout, noise on the update, on the weights for the
forward pass, on the gradient), Adam with full batches instead of minibatches, and AdamW at
0.3x and 3x the learning rate. The paper: weight decay toward the origin helps most (it more
than halves the data needed); toward the initialization helps, less; noise helps some; the
learning rate works only within about an order of magnitude.

Metrics: the best validation accuracy within the budget (Fig. 2 center) and the steps to 99 %
validation accuracy (right), against the training fraction, one line per intervention.
Interventions that are per-member fields (dropout, noises, lr) share one population per
optimizer and batch rule, so the quick size trains 5 populations, not 11 x fractions x seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis import smallest_fraction
from groklab.analysis.curves import median_never_last
from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
    register,
    write_markdown,
)
from groklab.experiments.claims import Claim
from groklab.experiments.common import (
    GRID_NOTES,
    MICRO_MLP,
    QUICK_MLP,
    THRESHOLD,
    Note,
    RunSize,
    describe_batch,
    describe_model,
    describe_op,
    describe_values,
    shrunk_text,
    train_points,
)
from groklab.plots.by_fraction import plot_by_fraction
from groklab.plots.style import build_figure, plot_size_note, save_figure
from groklab.spec import PRESETS, DataSpec, MemberSpec, OptimSpec, RunSpec, TrainSpec
from groklab.sweep import write_rows_csv

TITLE = "Power et al. 2022, Fig. 2 center/right"

# The paper does not give its noise scales or L2 strength: these are groklab's, picked from a
# scan on the quick task (x+y mod 31, MLP, lr 1e-2, 2,000 steps, fraction 0.5-0.9, one seed;
# benchmarks/results/power2022_ops_interventions.md): L2 1e-3 beat 1e-2 and 1e-1 (1e-1 never
# fits), update noise 0.5 beat 0.1, weight noise 0.05 beat 0.01; gradient noise 0.01 and 0.1
# both barely moved plain Adam.
L2 = 1e-3  # Adam + L2: grad += L2 * theta before the moments
DROPOUT = 0.1  # after each block's MLP (transformer) or hidden layer (mlp)
UPDATE_NOISE = 0.5  # sigma added to the normalized Adam update (so, in units of lr)
WEIGHT_NOISE = 0.05  # sigma added to every weight for the forward pass only
GRAD_NOISE = 0.01  # sigma added to the gradient before the moments


@dataclass(frozen=True)
class Intervention:
    """One line of the figure: changes to the size's optimizer, batch rule and members."""

    name: str
    label: str
    optim: dict = field(default_factory=dict)  # OptimSpec fields
    member: dict = field(default_factory=dict)  # MemberSpec fields
    batch_size: int | float | str | None = None  # None: the size's minibatch rule
    lr_factor: float = 1.0  # times the size's lr


_ADAM = {"optimizer": "adam"}
_NO_WD = {"weight_decay": 0.0}
INTERVENTIONS: dict[str, Intervention] = {
    iv.name: iv
    for iv in (
        Intervention("wd_origin", "AdamW, wd toward origin", {"optimizer": "adamw"}),
        Intervention("wd_init", "AdamW, wd toward init", {"optimizer": "adamw",
                                                          "decay_to": "init"}),
        Intervention("adam_l2", f"Adam + L2 {L2:g}", {"optimizer": "adam_l2"},
                     {"weight_decay": L2}),
        Intervention("adam", "Adam", _ADAM, _NO_WD),
        Intervention("dropout", f"Adam + dropout {DROPOUT:g}", _ADAM,
                     {**_NO_WD, "dropout": DROPOUT}),
        Intervention("update_noise", f"Adam + update noise {UPDATE_NOISE:g}", _ADAM,
                     {**_NO_WD, "update_noise": UPDATE_NOISE}),
        Intervention("weight_noise", f"Adam + weight noise {WEIGHT_NOISE:g}", _ADAM,
                     {**_NO_WD, "weight_noise": WEIGHT_NOISE}),
        Intervention("grad_noise", f"Adam + gradient noise {GRAD_NOISE:g}", _ADAM,
                     {**_NO_WD, "grad_noise": GRAD_NOISE}),
        Intervention("full_batch", "Adam, full batch", _ADAM, _NO_WD, batch_size="full"),
        Intervention("lr_low", "AdamW, lr x0.3", {"optimizer": "adamw"}, lr_factor=0.3),
        Intervention("lr_high", "AdamW, lr x3", {"optimizer": "adamw"}, lr_factor=3.0),
    )
}  # fmt: skip
BASELINE = "wd_origin"


@dataclass(frozen=True, kw_only=True)
class InterventionsSize(RunSize):
    op: str
    p: int
    weight_decay: float
    batch_size: int | str
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    interventions: tuple[str, ...]


SIZES = {
    "paper": InterventionsSize(
        op="div", p=97, model=PRESETS["power2022"], lr=1e-3, weight_decay=1.0,
        steps=100_000, batch_size="power", eval_every=100,
        fractions=tuple(round(0.1 * i, 1) for i in range(1, 10)), seeds=(0, 1, 2),
        interventions=tuple(INTERVENTIONS),
    ),
    "quick": InterventionsSize(
        op="add", p=31, model=QUICK_MLP, lr=1e-2, weight_decay=1.0,
        steps=2_000, batch_size=100, eval_every=100,  # as power2022-ops quick
        fractions=(0.4, 0.6, 0.8), seeds=(0, 1),  # 4 fractions took 6 min (shared CPU)
        interventions=tuple(INTERVENTIONS),
    ),
    "micro": InterventionsSize(
        op="add", p=7, model=MICRO_MLP, lr=1e-2, weight_decay=1.0,
        steps=20, batch_size=16, eval_every=10, fractions=(0.5, 0.8),
        seeds=(0, 1), interventions=("wd_origin", "adam", "dropout", "full_batch"),
    ),
}  # fmt: skip


def point_spec(
    size: InterventionsSize, iv: Intervention, train_fraction: float, seed: int
) -> RunSpec:
    """The single-member run of one intervention at one fraction and seed."""
    member = MemberSpec(
        seed=seed,
        train_fraction=train_fraction,
        lr=size.lr * iv.lr_factor,
        **{"weight_decay": size.weight_decay, **iv.member},
    )
    train = TrainSpec(
        steps=size.steps,
        batch_size=size.batch_size if iv.batch_size is None else iv.batch_size,
        eval_every=size.eval_every,
        stop_at_val_acc=THRESHOLD,  # a population stops once every member has generalized
    )
    return RunSpec(
        data=DataSpec(op=size.op, p=size.p),
        model=size.model,
        optim=OptimSpec(**iv.optim),
        train=train,
        members=(member,),
    )


def run_interventions(size: InterventionsSize, ctx: ExperimentContext) -> list[dict]:
    """One row per (intervention, fraction, seed): what was run, then the summary."""
    keys = [
        (INTERVENTIONS[name], f, s)
        for name in size.interventions
        for f in size.fractions
        for s in size.seeds
    ]
    points = [point_spec(size, iv, f, s) for iv, f, s in keys]
    summaries = train_points(points, ctx).rows
    rows = []
    for (iv, _, _), spec, summary in zip(keys, points, summaries, strict=True):
        m = spec.members[0]
        rows.append(
            {
                "intervention": iv.name,
                "train_fraction": m.train_fraction,
                "seed": m.seed,
                "optimizer": spec.optim.optimizer,
                "decay_to": spec.optim.decay_to,
                "batch_size": spec.train.batch_size,
                "lr": m.lr,
                "weight_decay": m.weight_decay,
                "dropout": m.dropout,
                "update_noise": m.update_noise,
                "weight_noise": m.weight_noise,
                "grad_noise": m.grad_noise,
                **summary,
            }
        )
    return rows


def by_fraction(rows: list[dict], name: str, size: InterventionsSize, column: str) -> np.ndarray:
    """[F, S] values of `column` for intervention `name` (fractions and seeds in size order)."""
    table = {(r["train_fraction"], r["seed"]): r[column] for r in rows if r["intervention"] == name}
    return np.array([[table[(f, s)] for s in size.seeds] for f in size.fractions], float)


def measure(rows: list[dict], size: InterventionsSize) -> dict[str, dict]:
    """Per intervention: best validation accuracy and steps to 99 %, [F, S] each, and the
    smallest fraction whose median steps to 99 % is within the budget (nan if none)."""
    names, seeds = size.interventions, len(size.seeds)
    best = {n: by_fraction(rows, n, size, "best_val_acc") for n in names}
    steps = {n: by_fraction(rows, n, size, "steps_to_val") for n in names}
    fractions = np.repeat(np.array(size.fractions), seeds)  # matches steps[n].ravel()
    found = {n: smallest_fraction(fractions, steps[n].ravel(), size.steps) for n in names}
    return {"best_val_acc": best, "steps_to_val": steps, "smallest_fraction": found}


def interventions_table(measured: dict, size: InterventionsSize) -> str:
    """intervention | smallest fraction to 99 % | median best validation accuracy per fraction."""
    header = (
        "intervention",
        "smallest fraction to 99 %",
        *(f"best val acc at {f:g}" for f in size.fractions),
    )
    rows = [
        (
            INTERVENTIONS[n].label,
            measured["smallest_fraction"][n],
            *np.median(measured["best_val_acc"][n], axis=1),
        )
        for n in size.interventions
    ]
    return markdown_table(header, rows)


def run(ctx: ExperimentContext) -> ExperimentResult:
    size = SIZES[ctx.size]
    rows = run_interventions(size, ctx)
    measured = measure(rows, size)
    shrunk = shrunk_text(size, SIZES["paper"], NOTES)
    table = interventions_table(measured, size)
    paths = [ctx.out_dir / f"interventions.{ext}" for ext in ("png", "csv", "md")]
    save_figure(plot_figure(size, measured, ctx.size, shrunk), paths[0])
    write_rows_csv(rows, paths[1])
    write_markdown(
        paths[2],
        title=f"{TITLE}: interventions",
        table=table,
        shrunk=shrunk,
        notes=settings_text(size),
    )
    fractions = size.fractions
    numbers = {
        "smallest_fraction": measured["smallest_fraction"],
        "best_val_acc": {
            n: dict(zip(fractions, np.median(v, axis=1).tolist(), strict=True))
            for n, v in measured["best_val_acc"].items()
        },
        "steps_to_val": {
            n: dict(zip(fractions, median_never_last(v).tolist(), strict=True))
            for n, v in measured["steps_to_val"].items()
        },
        "budget": size.steps,
    }
    return ExperimentResult(paths, table, shrunk, numbers)


def task_notes(size: InterventionsSize, paper: InterventionsSize) -> list[str]:
    """The task and the interventions left out, after the grid's settings."""
    notes = [f"task {size.op} (paper {paper.op})"] if size.op != paper.op else []
    if len(size.interventions) != len(paper.interventions):
        notes.append(f"interventions {', '.join(size.interventions)} only")
    return notes


NOTES: tuple[Note, ...] = (*GRID_NOTES, task_notes)


def settings_text(size: InterventionsSize) -> str:
    return (
        f"Settings: {size.op} mod {size.p}, {describe_model(size.model)}, lr "
        f"{size.lr:g}, weight decay {size.weight_decay:g} (AdamW lines), minibatch "
        f"{describe_batch(size.batch_size)}, budget {size.steps:,} steps, fractions "
        f"{describe_values(size.fractions)}, seeds {describe_values(size.seeds)}. "
        "Noise scales are groklab's choice (the paper does not give them). A fraction counts "
        "when the median over seeds of the steps to 99 % validation accuracy is within the "
        "budget; lines are medians over seeds with a min-max band; x = never (median)."
    )


def plot_figure(size: InterventionsSize, measured: dict, name: str, shrunk: str) -> Figure:
    """Best validation accuracy (left) and steps to 99 % (right) against training fraction."""
    fig = build_figure(2, figsize=(14, 5.6 if shrunk else 5.0))
    acc_ax, steps_ax = fig.axes
    fractions = np.array(size.fractions)
    labels = {n: INTERVENTIONS[n].label for n in size.interventions}
    highlight = labels.get(BASELINE)
    for ax, metric, ylabel, log in (
        (acc_ax, "best_val_acc", "best validation accuracy within budget", False),
        (steps_ax, "steps_to_val", "steps to 99 % validation accuracy (x: never)", True),
    ):
        series = {labels[n]: v for n, v in measured[metric].items()}
        plot_by_fraction(ax, fractions, series, ylabel=ylabel, log=log, highlight=highlight)
    acc_ax.set_ylim(-0.02, 1.02)
    steps_ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    steps_ax.set_ylim(10, size.steps * 1.5)  # never-reached x marks sit above the budget
    fig.suptitle(f"{TITLE}: interventions on {describe_op(size.op, size.p)}")
    plot_size_note(acc_ax, name, shrunk, settings_text(size), width=110)
    return fig


DESCRIPTION = "weight decay, noise, batch and lr across training fractions"


def _fraction(numbers: dict, name: str) -> float:
    """The smallest fraction reaching 99 % for an intervention; 1 where none did."""
    v = float(numbers["smallest_fraction"][name])
    return 1.0 if v != v else v


def wd_over_best_other(numbers: dict) -> float:
    if _fraction(numbers, "wd_origin") == 1.0:
        return float("nan")  # weight decay never generalized: nothing to compare
    others = [_fraction(numbers, n) for n in numbers["smallest_fraction"] if n != "wd_origin"]
    return _fraction(numbers, "wd_origin") - min(others)


CLAIMS = (
    Claim(
        "Weight decay toward the origin improves data efficiency the most of the "
        "interventions tried (Sec. 3.3, Fig. 2 center)",
        paper="largest effect",
        quantity="smallest fraction with weight decay minus the best other intervention's "
        "(1 = never)",
        value=wd_over_best_other,
        rule="<= 0",
    ),
    Claim(
        "Weight decay more than halves the training data needed (Sec. 3.3)",
        paper="< 1/2",
        quantity="smallest fraction with weight decay / with plain Adam (1 = never)",
        value=lambda n: float(n["smallest_fraction"]["wd_origin"]) / _fraction(n, "adam"),
        rule="<= 0.5",
    ),
)
register(Experiment("power2022-interventions", TITLE, DESCRIPTION, run, claims=CLAIMS))
