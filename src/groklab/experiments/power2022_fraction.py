"""Power et al. 2022, Fig. 1 center: steps until training and validation accuracy >= 99 % against
the training fraction (x / y mod 97 in the paper; a smaller p at the quick size). The paper: the
time to generalize grows steeply as the fraction shrinks, and below some fraction it does not
happen within the budget, while the training set is fitted early at every fraction: the gap
between the two lines is the grokking delay.

Compute at the paper size: at most ~19 CPU core-hours (21 members, 7 fractions x 3 seeds, each
to its 10^5-step budget at ~32 ms per member-step on one quiet core of the 2-vCPU AMD EPYC in
benchmarks/RESULTS.md §21); members stop at 99 % validation, so the fractions that grok cost far
less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis import Summary, smallest_fraction, summarize
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import NEVER, claim
from groklab.experiments.kit import Drawing, Files, Outcome, declare, header, size_table
from groklab.plots.power2022 import plot_steps_by_fraction
from groklab.plots.style import build_figure
from groklab.spec import PRESETS
from groklab.sweep import SweepSpec

TITLE = "Power et al. 2022, Fig. 1 center"


# Optimizer: AdamW lr 1e-3, weight decay 1, the paper's default for its other figures (its
# Fig. 1 left also shows plain Adam, which at 1e5 steps generalizes at almost no fraction).
@dataclass(frozen=True, kw_only=True)
class FractionSize(common.GridSize):
    op: str


POWER = PRESETS["power2022"]
PAPER_FRACTIONS, QUICK_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.4, 0.5, 0.6, 0.7, 0.8)
SIZES = size_table(
    FractionSize,
    "p model batch_size lr steps eval_every fractions seeds",
    {
        "paper": (97, POWER, "power", 1e-3, 100_000, 100, PAPER_FRACTIONS, (0, 1, 2)),
        # Verified here: x / y mod 31 with this MLP needs ~250 steps at 80 %, ~1,200 at 50 %,
        # and 2 of 3 seeds never reach 99 % at 40 % within 3,000 steps (none within 2,000).
        "quick": (31, common.QUICK_MLP, "full", 1e-2, 2_000, 10, QUICK_FRACTIONS, (0, 1, 2)),
        "micro": (7, common.MICRO_MLP, "full", 1e-2, 30, 10, (0.3, 0.6), (0, 1)),
    },
    op="div",
    weight_decay=1.0,
)


def sweep_spec(size: FractionSize) -> SweepSpec:
    """One population: every (fraction, seed) a member, seeds varying fastest."""
    base = common.grid_base(size, size.op)
    grid = (("train_fraction", size.fractions), ("seed", size.seeds))
    return SweepSpec(base, grid=grid, max_members=len(size.fractions) * len(size.seeds))


FRACTIONS = ("fractions {} (paper 0.2 to 0.8)", common.shown("fractions", common.describe_values))
NOTES = (common.P, common.MODEL, common.BATCH_AND_LR, common.STEPS, FRACTIONS, common.SEEDS)


SUMMARY = header(  # the summary CSV's columns
    "train_fraction | median_steps_to_val | min_steps_to_val | max_steps_to_val | "
    "median_steps_to_train | n_seeds | n_never | best_val_acc"
)
HEADER = header(
    "training fraction | median steps to 99 % train | median steps to 99 % val | min | max | "
    "never reached"
)


def outcome(size: FractionSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    result = common.run_sweeps([sweep_spec(size)], ctx)
    summaries = summarize(result.grouped("train_fraction", "steps_to_val"))
    train = summarize(result.grouped("train_fraction", "steps_to_train"))
    best = result.grouped("train_fraction", "best_val_acc")
    best = {k: float(np.nanmax(v)) for k, v in best.items()}
    smallest = smallest_fraction(
        result.column("train_fraction"), result.column("steps_to_val"), size.steps
    )
    fig = build_figure(1, figsize=(7.5, 5.2))
    plot_steps_by_fraction(fig.axes[0], summaries, budget=size.steps, train=train, best=best)
    task = f"{common.describe_op(size.op, size.p)}, {common.describe_model(size.model)}"
    pairs = list(zip(summaries, train, strict=True))
    values = [
        (s.key, s.median, s.min, s.max, t.median, s.n, s.n_never, best[s.key]) for s, t in pairs
    ]
    rows = [dict(zip(SUMMARY, v, strict=True)) for v in values]
    cells = [
        (f"{s.key:g}", t.median, _val_text(s.median, best[s.key]), *_range(s), f"{s.n_never}/{s.n}")
        for s, t in pairs
    ]
    notes = (
        f"Task: {task}; AdamW lr {size.lr:g}, weight decay {size.weight_decay:g}, "
        f"batch {size.batch_size}, budget {size.steps:,} steps, seeds "
        f"{', '.join(map(str, size.seeds))}. Median and range (min, max) over the seeds that "
        f"reached 99 % validation; 'not reached (best b)' means no seed did, b the best "
        f"validation accuracy any seed reached. Train reaches 99 % long before validation: the "
        f"gap between the two columns is the grokking delay. Smallest fraction whose median is "
        f"within the budget: {'none' if np.isnan(smallest) else f'{smallest:g}'}."
    )
    return Outcome(
        {"budget": size.steps, "smallest_fraction": smallest, "rows": rows},
        markdown_table(HEADER, cells),
        notes,
        Files(
            [Drawing("fraction.png", fig, f"{TITLE}: {task}")],
            {"fraction_runs.csv": result.rows, "fraction_summary.csv": rows},
        ),
    )


def _range(s: Summary) -> tuple[float | str, float | str]:
    """(min, max) over the seeds that reached 99 %; '-' where none did."""
    return (s.min, s.max) if np.isfinite(s.median) else ("-", "-")


def _val_text(median: float, best: float) -> float | str:
    """The median steps, or 'not reached (best 0.92)' when no seed got there."""
    return median if np.isfinite(median) else f"not reached (best {best:.2f})"


DESCRIPTION = (
    f"steps to 99 % train and validation vs training fraction (x/y mod {SIZES['paper'].p}; "
    f"quick mod {SIZES['quick'].p})"
)


def _median_or_never(row: dict) -> float:
    """A fraction's median steps to 99 % validation, counting seeds that never got there as
    later than any step (NEVER when they are at least half)."""
    return NEVER if 2 * row["n_never"] >= row["n_seeds"] else float(row["median_steps_to_val"])


def _never_if_nan(v: float) -> float:
    return NEVER if v != v else float(v)


def slower_with_more_data(numbers: dict) -> float:
    """How many pairs of neighbouring fractions have the larger one slower to 99 % val."""
    rows = sorted(numbers["rows"], key=lambda r: r["train_fraction"])
    medians = [_median_or_never(r) for r in rows]
    if all(m == NEVER for m in medians):
        return float("nan")  # nothing generalized: the trend is not measured
    return float(sum(b > a for a, b in zip(medians, medians[1:], strict=False)))


CLAIMS = (
    claim(
        "The steps needed to reach 99 % validation accuracy grow as the training fraction shrinks "
        "(Fig. 1 center; Sec. 3.1: near 25-30 % of the data, 1 % less data costs 40-50 % more "
        "steps) "
        "| monotone, steep | neighbouring fractions where more data was slower (median over "
        "seeds) | == 0",
        slower_with_more_data,
    ),
    claim(
        "Below some training fraction, validation accuracy does not reach 99 % within the budget "
        "(Fig. 1 center) "
        "| yes | fractions whose median never reached 99 % validation | >= 1",
        lambda n: float(sum(_median_or_never(r) == NEVER for r in n["rows"])),
    ),
    claim(
        "Training accuracy reaches 99 % within 10^3-10^4 steps at every fraction (Sec. 3.1) "
        "| 10^3-10^4 steps | largest median steps to 99 % train over the fractions | <= 10000",
        lambda n: max(_never_if_nan(r["median_steps_to_train"]) for r in n["rows"]),
    ),
)
STUDY = declare(
    "power2022-fraction", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "fraction.md", claims=CLAIMS
)
