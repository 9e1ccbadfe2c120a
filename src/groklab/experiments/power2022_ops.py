"""Power et al. 2022, Fig. 2 left: how much data each operation needs.

For each of the 12 operations of the paper, train over a grid of training fractions and seeds
and report the smallest fraction at which validation accuracy reaches 99 % within the step
budget (median over seeds; `groklab.analysis.smallest_fraction`). The paper finds the
symmetric and "easy" operations (x+y, x-y, x/y) need the least data, x^3+xy^2+y and the S5
products far more, and some never generalize within 10^5 steps.

The paper's tables are of comparable size (p = 97: 9,409 pairs; S5: 14,400). A smaller p is not:
at p = 31 a modular table has 961 pairs, so the same fraction gives the S5 ops 15x more
training examples, and the quick figure drew x*y in S5 as the easiest operation. Every bar
therefore also gives its number of training examples, and a size whose tables differ more than
2x says so on the figure and in the Markdown (`size_caveat`).

Compute at the paper size: at most ~290 CPU core-hours (324 members, 12 operations x 9 fractions
x 3 seeds, each to its 10^5-step budget at ~32 ms per member-step on one quiet core of the
2-vCPU AMD EPYC in benchmarks/RESULTS.md §21); members that reach 99 % stop early. A cluster
job: `--backend ray`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis import smallest_fraction
from groklab.analysis.curves import median_never_last
from groklab.data import OPS, PAPER_OPS, make_table
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import claim
from groklab.experiments.kit import Drawing, Files, Outcome, declare, size_table
from groklab.experiments.kit import header as header_of
from groklab.plots.bars import plot_smallest_fractions
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, OptimSpec
from groklab.sweep import SweepResult, SweepSpec

TITLE = "Power et al. 2022, Fig. 2 left"


@dataclass(frozen=True, kw_only=True)
class OpsSize(common.GridSize):
    ops: tuple[str, ...]
    group: dict[str, int]


PAPER_FRACTIONS = tuple(round(0.1 * i, 1) for i in range(1, 10))
# quick: 4 fractions took 5 min (shared CPU). Batch 100, not 128: 0.8 x 961 = 769 = 6 x 128 + 1
# ends every epoch on a batch of one example, whose full-size Adam step slowed fitting ~6x; 100
# leaves >= 44 at the end. S5 (14,400 pairs, 120 classes): batch 128 let weight decay collapse
# some members to chance before they fit; 256 fits every seed at 50-90 %. Evaluating 14,400
# pairs costs ~0.5 s, so less often.
QUICK_GROUP = {"batch_size": 256, "eval_every": 250}
SIZES = size_table(
    OpsSize,
    "ops p model lr steps",
    {
        "paper": (PAPER_OPS, 97, PRESETS["power2022"], 1e-3, 100_000),
        "quick": (PAPER_OPS, 31, common.QUICK_MLP, 1e-2, 2_000),
        "micro": (("add", "s5_mul"), 7, common.MICRO_MLP, 1e-2, 20),
    },
    "batch_size eval_every fractions seeds group",
    {
        "paper": ("power", 100, PAPER_FRACTIONS, (0, 1, 2), {}),
        "quick": (100, 100, (0.4, 0.6, 0.8), (0, 1), QUICK_GROUP),
        "micro": (16, 10, (0.5, 0.8), (0, 1), {}),
    },
    weight_decay=1.0,
)


def build_sweeps(size: OpsSize) -> list[SweepSpec]:
    """Operation x training fraction x seed, AdamW with decay toward the origin: one sweep for
    the modular ops and one for the S5 ops (which may use their own batch and evaluation)."""
    modular = [op for op in size.ops if not OPS[op].is_group]
    group = [op for op in size.ops if OPS[op].is_group]
    return [
        build_sweep(replace(size, **overrides), ops)
        for ops, overrides in ((modular, {}), (group, size.group))
        if ops
    ]


def build_sweep(size: OpsSize, ops: list[str]) -> SweepSpec:
    base = common.grid_base(size, ops[0], OptimSpec(optimizer="adamw"))
    grid = {"data.op": ops, "train_fraction": list(size.fractions), "seed": list(size.seeds)}
    return SweepSpec(base, grid=grid)


def smallest_fractions(result: SweepResult, ops: tuple[str, ...], budget: int) -> dict:
    """{op: smallest fraction whose median steps-to-99 % is within budget, nan if none}."""
    rows = {op: result.where(op=op) for op in ops}
    fraction, steps = "train_fraction", "steps_to_val"
    return {
        op: smallest_fraction(r.column(fraction), r.column(steps), budget) for op, r in rows.items()
    }


def median_steps_at(result: SweepResult, op: str, fraction: float) -> float:
    """Median steps to 99 % validation over the seeds of `op` at `fraction` (never = nan)."""
    steps = result.where(op=op, train_fraction=fraction).column("steps_to_val").astype(float)
    median = float(median_never_last(steps[np.newaxis])[0])  # [1, S] -> [1]
    return median if np.isfinite(median) else float("nan")


def op_label(op: str) -> str:
    """'x + y' for add, 'x * y (S5)' for s5_mul: the formula as the paper's figure shows it."""
    formula = OPS[op].formula
    return formula.replace(" (mod p)", "").replace("(in S5)", "(S5)")


SETTING_NOTES: tuple[common.Note, ...] = (
    ("p of the modular ops = {} (paper {})", common.shown("p")),
    *(note for note in common.GRID_NOTES if note is not common.P),
)


def ops_notes(size: OpsSize, paper: OpsSize) -> list[str]:
    """The S5 ops' own settings and the ops left out, after the grid's settings."""
    notes = [f"S5 ops: {group_text(size.group)}"] if size.group else []
    if len(size.ops) != len(paper.ops):
        notes.append(f"ops {', '.join(size.ops)} only (paper: all {len(paper.ops)})")
    return notes


NOTES: tuple[common.Note, ...] = (*SETTING_NOTES, ops_notes)


def ops_table(result: SweepResult, size: OpsSize, found: dict) -> str:
    """op | formula | pairs | smallest fraction | median steps to 99 % at that fraction | median
    best validation accuracy at each fraction (how close the ops that never made it came)."""
    never = f"not within {size.steps:,} steps"
    rows = []
    for op in size.ops:
        fraction = found[op]
        reached = not np.isnan(fraction)
        steps = median_steps_at(result, op, fraction) if reached else float("nan")
        best = [
            float(np.median(result.where(op=op, train_fraction=f).column("best_val_acc")))
            for f in size.fractions
        ]
        pairs = make_table(op, size.p).n_examples
        examples = f"{round(fraction * pairs):,}" if reached else "-"
        rows.append(
            (op, op_label(op), pairs, f"{fraction:g}" if reached else never, examples, steps, *best)
        )
    header = header_of(
        "op | formula | pairs | smallest fraction | training examples there | "
        "median steps to 99 % there"
    )
    return markdown_table(header + [f"best val acc at {f:g}" for f in size.fractions], rows)


def outcome(size: OpsSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    result = common.run_sweeps(build_sweeps(size), ctx)
    found = smallest_fractions(result, size.ops, size.steps)
    numbers = {
        "smallest_fraction": found,
        "budget": size.steps,
        "p": size.p,
        "fractions": list(size.fractions),
        "seeds": list(size.seeds),
    }
    notes = " ".join(filter(None, [settings_text(size), size_caveat(size)]))
    figure = Drawing(
        "ops.png",
        plot_figure(size, found, shrunk),
        f"{TITLE}: smallest training fraction reaching 99 % validation accuracy",
        title_width=120,
        note_panel=0,
        settings=settings_text(size),
        caveat=size_caveat(size),
    )
    files = Files([figure], {"ops.csv": result.rows})
    return Outcome(numbers, ops_table(result, size, found), notes, files)


S5_PAIRS = 120 * 120


def size_caveat(size: OpsSize) -> str:
    """'' when the modular and S5 tables are within 2x in size; else what that does to the
    comparison (the same fraction is many more S5 examples)."""
    modular = [make_table(op, size.p).n_examples for op in size.ops if not OPS[op].is_group]
    if len(modular) in (0, len(size.ops)) or max(modular) * 2 >= S5_PAIRS:
        return ""
    ratio = S5_PAIRS / max(modular)
    return (
        f"Caveat: at p = {size.p} a modular table has {max(modular):,} pairs and S5 "
        f"{S5_PAIRS:,}, so the same fraction gives the S5 ops {ratio:.0f}x more training "
        f"examples; compare the ops by examples, not by fraction (the paper's p = 97 has 9,409 "
        f"pairs)."
    )


def group_text(group: dict) -> str:
    """'batch 256, evaluated every 250 steps': the S5 ops' own settings."""
    words = {"batch_size": "batch {}", "eval_every": "evaluated every {} steps"}
    return ", ".join(words[k].format(common.describe_batch(v)) for k, v in group.items())


def settings_text(size: OpsSize) -> str:
    group = f" (S5 ops: {group_text(size.group)})" if size.group else ""
    return (
        f"Settings: p = {size.p} for the modular ops (S5 for the group ops), "
        f"{common.describe_model(size.model)}, AdamW lr {size.lr:g}, weight decay "
        f"{size.weight_decay:g} toward the origin, batch {common.describe_batch(size.batch_size)}"
        f"{group}, "
        f"budget {size.steps:,} steps, fractions {common.describe_values(size.fractions)}, "
        f"seeds {common.describe_values(size.seeds)}. A fraction counts when the median over seeds "
        "of the steps to 99 % validation accuracy is within the budget (a seed that never gets "
        "there counts as later than any budget)."
    )


def plot_figure(size: OpsSize, found: dict, shrunk: str) -> Figure:
    """One bar per op; the size's note above it says what was shrunk and, where the tables
    differ in size, the caveat."""
    caveat = size_caveat(size)
    note_height = 0.5 * (bool(shrunk) + bool(caveat))
    fig = build_figure(1, figsize=(8.5, 1.2 + 0.42 * len(size.ops) + note_height))
    plot_smallest_fractions(
        fig.axes[0],
        [op_label(op) for op in size.ops],
        [found[op] for op in size.ops],
        never_text=f"not within {size.steps:,} steps",
        n_examples=[make_table(op, size.p).n_examples for op in size.ops],
    )
    return fig


DESCRIPTION = (
    f"smallest training fraction reaching 99 % validation per operation (mod {SIZES['paper'].p} "
    f"and S5; quick mod {SIZES['quick'].p})"
)
EASY_OPS, HARD_OPS = ("add", "sub", "div"), ("cubic_xy2_y", "s5_mul", "s5_conj", "s5_xyx")


def examples_needed(op: str, numbers: dict) -> float:
    """Training examples at the op's smallest fraction reaching 99 % (the whole table, and
    more, where none did): the fair unit when the tables differ in size."""
    p, frac = numbers["p"], float(numbers["smallest_fraction"][op])
    pairs = S5_PAIRS if op.startswith("s5") else p * (p - 1) if op.startswith("div") else p * p
    return pairs * (frac if frac == frac else 1.01)


def easy_over_hard(numbers: dict) -> float:
    """The most examples an easy op needed over the fewest a hard op needed (< 1: easy ops
    need less data)."""
    ops = numbers["smallest_fraction"]
    easy = [examples_needed(o, numbers) for o in EASY_OPS if o in ops]
    if all(float(ops[o]) != float(ops[o]) for o in EASY_OPS if o in ops):
        return float("nan")  # no easy op generalized: nothing to compare
    hard = [examples_needed(o, numbers) for o in HARD_OPS if o in ops]
    return max(easy) / min(hard)


CLAIMS = (
    claim(
        "Symmetric and easy operations (x+y, x-y, x/y) need less data to generalize than "
        "x^3+xy^2+y and the S5 products (Sec. 3.2, Fig. 2 left); compared here in training "
        "examples, since a mod-p table and S5's differ in size (quick: 961 pairs vs 14,400) "
        "| easy < hard | most examples an easy op needed / fewest a hard op needed | < 1",
        easy_over_hard,
    ),
)
HEADING = f"{TITLE}: data needed per operation"
STUDY = declare(
    "power2022-ops", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "ops.md", HEADING, CLAIMS
)
