"""Power et al. 2022, Fig. 2 center/right: which training choices buy generalization.

On one task, across training fractions, compare AdamW with weight decay 1 toward the origin
(the paper's setting) with weight decay toward the initialization, Adam + L2, plain Adam, plain
Adam plus one source of noise each (dropout, noise on the update, on the weights for the
forward pass, on the gradient), Adam with full batches, and AdamW at 0.3x and 3x the learning
rate. The paper: weight decay toward the origin helps most (it more than halves the data
needed); toward the initialization helps, less; noise helps some; the learning rate works only
within about an order of magnitude. Interventions that are per-member fields (dropout, noises,
lr) share one population per optimizer and batch rule: the quick size trains 5 populations,
not 11 x fractions x seeds.

Compute at the paper size: at most ~260 CPU core-hours (297 members, 9 fractions x 3 seeds x 11
interventions, each to its 10^5-step budget at ~32 ms per member-step on one quiet core of the
2-vCPU AMD EPYC in benchmarks/RESULTS.md §21); members that reach 99 % stop early. A cluster
job: `--backend ray`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis import smallest_fraction
from groklab.analysis.curves import median_never_last
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import claim
from groklab.experiments.kit import Drawing, Files, Outcome, declare, size_table
from groklab.plots.by_fraction import plot_by_fraction
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, DataSpec, OptimSpec, RunSpec

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


def adam(name: str, label: str, batch_size: str | None = None, **member) -> Intervention:
    """Plain Adam without weight decay, with `member`'s dropout or noise."""
    return Intervention(
        name, label, {"optimizer": "adam"}, {"weight_decay": 0.0, **member}, batch_size
    )


def adamw(name: str, label: str, lr_factor: float = 1.0, **optim) -> Intervention:
    """AdamW with the size's weight decay, lr times `lr_factor`."""
    return Intervention(name, label, {"optimizer": "adamw", **optim}, lr_factor=lr_factor)


INTERVENTIONS: dict[str, Intervention] = {
    iv.name: iv
    for iv in (
        adamw("wd_origin", "AdamW, wd toward origin"),
        adamw("wd_init", "AdamW, wd toward init", decay_to="init"),
        Intervention(
            "adam_l2", f"Adam + L2 {L2:g}", {"optimizer": "adam_l2"}, {"weight_decay": L2}
        ),
        adam("adam", "Adam"),
        adam("dropout", f"Adam + dropout {DROPOUT:g}", dropout=DROPOUT),
        adam("update_noise", f"Adam + update noise {UPDATE_NOISE:g}", update_noise=UPDATE_NOISE),
        adam("weight_noise", f"Adam + weight noise {WEIGHT_NOISE:g}", weight_noise=WEIGHT_NOISE),
        adam("grad_noise", f"Adam + gradient noise {GRAD_NOISE:g}", grad_noise=GRAD_NOISE),
        adam("full_batch", "Adam, full batch", batch_size="full"),
        adamw("lr_low", "AdamW, lr x0.3", lr_factor=0.3),
        adamw("lr_high", "AdamW, lr x3", lr_factor=3.0),
    )
}
BASELINE = "wd_origin"


@dataclass(frozen=True, kw_only=True)
class InterventionsSize(common.GridSize):
    op: str
    interventions: tuple[str, ...]


PAPER_FRACTIONS = tuple(round(0.1 * i, 1) for i in range(1, 10))
SIZES = size_table(
    InterventionsSize,
    "op p model lr steps batch_size eval_every",
    {
        "paper": ("div", 97, PRESETS["power2022"], 1e-3, 100_000, "power", 100),
        "quick": ("add", 31, common.QUICK_MLP, 1e-2, 3_000, 100, 100),  # power2022-ops quick's
        "micro": ("add", 7, common.MICRO_MLP, 1e-2, 20, 16, 10),
    },
    "fractions seeds interventions",
    {
        "paper": (PAPER_FRACTIONS, (0, 1, 2), tuple(INTERVENTIONS)),
        # wd toward the origin at 0.5 needs ~2,500 steps (2,000 held no fraction under 0.6)
        "quick": ((0.4, 0.5, 0.6, 0.8), (0, 1), tuple(INTERVENTIONS)),
        "micro": ((0.5, 0.8), (0, 1), ("wd_origin", "adam", "dropout", "full_batch")),
    },
    weight_decay=1.0,
)


def point_spec(
    size: InterventionsSize, iv: Intervention, train_fraction: float, seed: int
) -> RunSpec:
    """The single-member run of one intervention at one fraction and seed; a population stops
    once every member has generalized."""
    batch = size.batch_size if iv.batch_size is None else iv.batch_size
    return common.single_run(
        size,
        DataSpec(op=size.op, p=size.p),
        optim=OptimSpec(**iv.optim),
        train={"batch_size": batch, "stop_at_val_acc": common.THRESHOLD},
        seed=seed,
        train_fraction=train_fraction,
        lr=size.lr * iv.lr_factor,
        **{"weight_decay": size.weight_decay, **iv.member},
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
    summaries = common.train_points(points, ctx).rows
    rows = []
    for (iv, f, s), spec, summary in zip(keys, points, summaries, strict=True):
        optim, member = spec.optim, {k: getattr(spec.members[0], k) for k in MEMBER_COLUMNS}
        run = {"optimizer": optim.optimizer, "decay_to": optim.decay_to}
        run["batch_size"] = spec.train.batch_size
        rows.append({"intervention": iv.name, "train_fraction": f, "seed": s, **run, **member})
        rows[-1].update(summary)
    return rows


MEMBER_COLUMNS = ("lr", "weight_decay", "dropout", "update_noise", "weight_noise", "grad_noise")


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


def outcome(size: InterventionsSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    rows = run_interventions(size, ctx)
    measured = measure(rows, size)
    fractions = size.fractions
    best = {n: np.median(v, axis=1).tolist() for n, v in measured["best_val_acc"].items()}
    steps = {n: median_never_last(v).tolist() for n, v in measured["steps_to_val"].items()}
    numbers = {
        "smallest_fraction": measured["smallest_fraction"],
        "best_val_acc": {n: dict(zip(fractions, v, strict=True)) for n, v in best.items()},
        "steps_to_val": {n: dict(zip(fractions, v, strict=True)) for n, v in steps.items()},
        "budget": size.steps,
    }
    title = f"{TITLE}: interventions on {common.describe_op(size.op, size.p)}"
    figure = Drawing(
        "interventions.png",
        plot_figure(size, measured, shrunk),
        title,
        note_panel=0,
        settings=settings_text(size),
    )
    files = Files([figure], {"interventions.csv": rows})
    cells = [(INTERVENTIONS[n].label, numbers["smallest_fraction"][n], *best[n]) for n in best]
    header = ["intervention", "smallest fraction to 99 %"]
    table = markdown_table(header + [f"best val acc at {f:g}" for f in fractions], cells)
    return Outcome(numbers, table, settings_text(size), files)


def task_notes(size: InterventionsSize, paper: InterventionsSize) -> list[str]:
    """The task and the interventions left out, after the grid's settings."""
    notes = [f"task {size.op} (paper {paper.op})"] if size.op != paper.op else []
    if len(size.interventions) != len(paper.interventions):
        notes.append(f"interventions {', '.join(size.interventions)} only")
    return notes


NOTES: tuple[common.Note, ...] = (*common.GRID_NOTES, task_notes)


def settings_text(size: InterventionsSize) -> str:
    return (
        f"Settings: {size.op} mod {size.p}, {common.describe_model(size.model)}, lr "
        f"{size.lr:g}, weight decay {size.weight_decay:g} (AdamW lines), minibatch "
        f"{common.describe_batch(size.batch_size)}, budget {size.steps:,} steps, fractions "
        f"{common.describe_values(size.fractions)}, seeds {common.describe_values(size.seeds)}. "
        "Noise scales are groklab's choice (the paper does not give them). A fraction counts "
        "when the median over seeds of the steps to 99 % validation accuracy is within the "
        "budget; lines are medians over seeds with a min-max band; x = never (median)."
    )


def plot_figure(size: InterventionsSize, measured: dict, shrunk: str) -> Figure:
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
    claim(
        "Weight decay toward the origin improves data efficiency the most of the interventions "
        "tried (Sec. 3.3, Fig. 2 center) "
        "| largest effect | smallest fraction with weight decay minus the best other "
        "intervention's (1 = never) | <= 0",
        wd_over_best_other,
    ),
    claim(
        "Weight decay more than halves the training data needed (Sec. 3.3) "
        "| < 1/2 | smallest fraction with weight decay / with plain Adam (1 = never) | <= 0.5",
        lambda n: float(n["smallest_fraction"]["wd_origin"]) / _fraction(n, "adam"),
    ),
)
NAME, HEADING = "power2022-interventions", f"{TITLE}: interventions"
STUDY = declare(
    NAME, TITLE, DESCRIPTION, SIZES, NOTES, outcome, "interventions.md", HEADING, CLAIMS
)
