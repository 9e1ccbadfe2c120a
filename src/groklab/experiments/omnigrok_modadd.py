"""Omnigrok (Liu, Michaud, Tegmark 2023), Fig. 8: grokking on x+y mod 113 is about the norm.

Figure numbers are the ICLR 2023 (OpenReview) version's, as in the authors' code README:
teacher-student 2, MNIST 3, IMDb 4, QM9 5, MNIST representation 7 (omnigrok-mnist-repr), and
modular addition "6 & 8": 6 the reduced landscape (the code's landscape notebooks), 8 this run.
The authors' notebook for this run says "Figure 7" of arXiv 2210.01117: it dates from v1
(October 2022), with no MNIST-representation figure before it (inferred from the two sources;
the PDFs were not at hand). So: Fig. 8 in the ICLR version, Fig. 7 in arXiv v1.

Nanda et al.'s run: a 1-layer transformer (d 128, 4 heads, MLP 512, ReLU, no LayerNorm, learned
positions, weights N(0, 1)/sqrt(d)) on x+y mod 113 with 30 % of the table, full batch, AdamW lr
1e-3, betas (0.9, 0.98). With weight decay 1 (the baseline) it memorizes first and generalizes
much later, while the weight norm first rises, then falls. Started at alpha = 0.8 of the
default scale and held at that norm (weight decay 0, the norm projected back after every step),
train and test accuracy rise together: the delay is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes

from groklab.experiments import common
from groklab.experiments.base import ExperimentContext
from groklab.experiments.claims import GROKKING_DELAY, claim, delay, value_at
from groklab.experiments.kit import Outcome, by_run, declare, size_table, table_of
from groklab.experiments.omnigrok_common import HELD_COLUMNS, Grokking, Panel, panel_run
from groklab.plots.power2022 import mark_threshold_steps
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec

TITLE = "Omnigrok (Liu et al. 2023), Fig. 8"
THRESHOLD = 0.99
ALPHA = 0.8  # the constrained run's init scale (and so its held norm), as in the paper
HELD = f"alpha = {ALPHA}, norm constrained, weight decay 0"


RUNS = (  # weight decay 1 from the default init, or alpha with the norm held fixed
    Panel("baseline", "baseline: weight decay 1", init_scale=1.0, weight_decay=1.0),
    Panel("constrained", HELD, init_scale=ALPHA, weight_decay=0.0, constrained=True),
)


def small_nanda(d_model: int, n_heads: int) -> ModelSpec:
    """The nanda2023 transformer at another width (MLP 4 x d_model, as the paper's)."""
    return replace(PRESETS["nanda2023"], d_model=d_model, n_heads=n_heads, d_mlp=4 * d_model)


@dataclass(frozen=True, kw_only=True)
class ModaddSize(common.RunSize):
    p: int
    train_fraction: float
    seed: int


SIZES = size_table(
    ModaddSize,
    "p train_fraction model lr steps eval_every",
    {
        # Under half a CPU core-hour: 2 runs x 15,000 full-batch steps at ~52 ms per member-step
        # on one quiet core of the 2-vCPU AMD EPYC in benchmarks/RESULTS.md §22.
        "paper": (113, 0.3, PRESETS["nanda2023"], 1e-3, 15_000, 100),
        # Measured here: at p = 59 with 30 % the baseline had not generalized by 6,000 steps
        # (val 4 %); with 50 % it reached 99 % train at 200 and 99 % val at 2,500-2,600.
        "quick": (59, 0.5, small_nanda(64, 4), 1e-3, 4_000, 100),
        "micro": (11, 0.3, small_nanda(16, 2), 1e-2, 30, 10),
    },
    seed=0,
)


FRACTION = ("{} training data (paper {})", common.shown("train_fraction", "{:.0%}".format))
NOTES: tuple[common.Note, ...] = (common.P, FRACTION, common.MODEL, common.LR, common.STEPS)


def run_spec(size: ModaddSize, run: Panel) -> RunSpec:
    """A single-member spec: full batch, 30 % train, the run's init scale and weight decay."""
    data = DataSpec(op="add", p=size.p)
    return panel_run(size, run, data, optim=OptimSpec(), train_fraction=size.train_fraction)


TO_99 = {f"steps_to_{split}": f"first {split}_acc {THRESHOLD}" for split in ("train", "val")}
NORMS = {  # and the ends; a norm held constant has no peak (nan)
    "norm_start": "initial weight_norm",
    "norm_peak": "best weight_norm",
    "step_norm_peak": "when best weight_norm",
    "norm_end": "final weight_norm",
    "final_train_acc": "final train_acc",
    "final_val_acc": "final val_acc",
    "steps_done": "final step",
}


def run_numbers(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """TO_99, the delay between them, then NORMS of one member's curves ({"step": [S], metric:
    [1, S]})."""
    to, norms = common.curve_numbers(curves, TO_99), common.curve_numbers(curves, NORMS)
    if is_held(curves["weight_norm"][0]):
        norms.update(norm_peak=float("nan"), step_norm_peak=float("nan"))
    return {**to, "delay": to["steps_to_val"] - to["steps_to_train"], **norms}


def is_held(norm: np.ndarray, *, rtol: float = 1e-4) -> bool:
    """True if the norm never moved by more than `rtol` of its start (a projected run)."""
    finite = norm[np.isfinite(norm)]
    return finite.size > 0 and float(np.ptp(finite)) <= rtol * abs(float(finite[0]))


def table_cell(row: dict, key: str) -> object:
    """A row's value for the table: 'held' where a constant norm has no peak."""
    if key in ("norm_peak", "step_norm_peak") and np.isnan(row[key]):
        return f"held at {row['norm_start']:.2f}" if key == "norm_peak" else "-"
    return row[key]


TABLE = {
    "run": "run",
    "steps_to_train": "steps to 99 % train",
    "steps_to_val": "steps to 99 % val",
    "delay": "delay",
    "norm_start": "norm start",
    "norm_peak": "norm peak",
    "step_norm_peak": "peak at step",
    "norm_end": "norm end",
    "final_val_acc": "final val acc",
}


def panel_label(run: Panel, numbers: dict) -> str:
    """'baseline: weight decay 1 (delay 3,100 steps)'."""
    delay = numbers["delay"]
    return f"{run.label}\n(delay {delay:,.0f} steps)" if np.isfinite(delay) else run.label


def mark(ax: Axes, row: dict) -> None:
    mark_threshold_steps(ax, row["steps_to_train"], row["steps_to_val"])


MARKS = {"mark": mark, "summary": "modadd_summary.csv"}
GROKKING = Grokking(  # one population per run
    RUNS, "modadd_curves", run_numbers, HELD_COLUMNS, label=panel_label, figure=MARKS, max_members=1
)


def outcome(size: ModaddSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    """Both panels (accuracy, the norm on a twin axis, 99 % steps dotted), curves, summary."""
    task = f"{common.describe_op('add', size.p)}, {size.train_fraction:.0%} training data"
    model = common.describe_model(size.model)
    setting = f"{task}, full batch, {model}, AdamW lr {size.lr:g}, betas (0.9, 0.98)"
    rows, files = GROKKING.run([run_spec(size, r) for r in RUNS], ctx, size, f"{TITLE}: {setting}")
    notes = (
        f"{setting}; 10 warm-up steps, seed {size.seed}, budget {size.steps:,} steps, "
        f"evaluated every {size.eval_every} steps. The baseline has weight decay 1 from the "
        f"default init; the constrained run starts at alpha = {ALPHA} times it, with weight "
        "decay 0 and its norm projected back to alpha * ||theta_0|| after every step. Steps "
        "are the first evaluated step at or above 99 %; 'never' means not within the budget. "
        "Weight norm: all parameters, biases included."
    )
    return Outcome(by_run(rows, TABLE), table_of(rows, TABLE, table_cell), notes, files)


DESCRIPTION = (
    f"x+y mod {SIZES['paper'].p} (quick mod {SIZES['quick'].p}): wd-1 baseline groks as the norm "
    "falls; alpha = 0.8 constrained does not"
)


def norm_rises_then_falls(numbers: dict) -> float:
    """The baseline's peak weight norm over the larger of its start and end (> 1: up, then
    down)."""
    b = numbers["baseline"]
    return b["norm_peak"] / max(b["norm_start"], b["norm_end"])


CLAIMS = (
    claim(
        "The transformer with weight decay 1 groks modular addition (Fig. 6/8, baseline) "
        f"| grokking | steps from 99 % train to 99 % test, baseline | >= {GROKKING_DELAY}",
        delay("baseline"),
        within_budget=True,
    ),
    claim(
        "...its weight norm first rises, then falls as it generalizes (Fig. 6/8) "
        "| rises, then falls | peak norm / max(start, end norm), baseline | > 1",
        norm_rises_then_falls,
    ),
    claim(
        "With the norm held fixed (alpha = 0.8, no weight decay) train and test accuracy rise "
        "together: no grokking (Fig. 6/8) "
        f"| no delay | steps from 99 % train to 99 % test, constrained | < {GROKKING_DELAY}",
        delay("constrained"),
        note="measured at the paper size (seed 0): 99 % train at step 400, 99 % test at 1,500, "
        "a delay of 1,100 against the baseline's 10,800 (the quick size: 100 against 1,200)",
    ),
    claim(
        "...and it does generalize (Fig. 6/8) | ~100 % | final test accuracy, constrained | >= 0.9",
        value_at("constrained.final_val_acc"),
    ),
)
STUDY = declare(
    "omnigrok-modadd", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "modadd.md", claims=CLAIMS
)
