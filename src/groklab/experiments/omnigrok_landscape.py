"""Omnigrok's landscapes (Liu, Michaud, Tegmark 2023): how well a model does as a function of
its weight norm, the init scale alpha, and a second axis (training set size, messiness).

A *landscape* trains one member per (alpha, value) cell with the weight norm held at
alpha * ||theta_0|| and weight decay 0, and keeps each cell's best train and test loss and
accuracy. Cells that differ only in member fields (alpha, n_train, seed) share populations, so
a grid row is one process. `landscape_files` draws its heat maps and its L and U (a
`kit.Files` for the experiment's `Outcome`); `LandscapeFigure` declares one for a size. The
grokking runs beside it are omnigrok_common's.

Example:
    >>> base = RunSpec(data=DataSpec(dataset="teacher_student"), train=TrainSpec(loss="mse"))
    >>> land = run_landscape(base, alphas=[0.5, 1, 2], axis="n_train", values=[50, 100], ctx=ctx)
    >>> land.best["best_val_loss"].shape     # [values, alphas]
    (2, 3)
    >>> sorted(best_alpha_by_row(land)[100])      # per N: where the U bottoms out, its sides
    ['best_alpha', 'best_val_acc', 'val_acc_largest_alpha', 'val_acc_smallest_alpha']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from groklab.analysis.landscape import best_values
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.kit import Drawing, Files, Outcome, by_run, table_of
from groklab.plots.landscape import plot_heatmap, plot_lu
from groklab.plots.style import build_figure
from groklab.spec import RunSpec
from groklab.sweep.grid import apply_point, axis_name

METRICS = ("best_train_loss", "best_val_loss", "best_train_acc", "best_val_acc")


@dataclass(frozen=True, kw_only=True)
class LandscapeSize(common.RunSize):
    """A size of an Omnigrok experiment with a landscape: its pool of examples and its alphas."""

    n_examples: int
    alphas: tuple[float, ...]


@dataclass(frozen=True)
class Landscape:
    alphas: np.ndarray  # [A]
    axis: str  # the second axis, e.g. "n_train" or "data.messiness"
    values: np.ndarray  # [R]
    best: dict[str, np.ndarray]  # METRICS -> [R, A]
    norms: np.ndarray  # [R, A] the weight norm the cell was held at

    def rows(self) -> list[dict]:
        """One dict per cell: axis value, alpha, norm and the best values."""
        return [
            {
                self.axis: self.values[r],
                "init_scale": self.alphas[a],
                "weight_norm": self.norms[r, a],
                **{m: self.best[m][r, a] for m in METRICS},
            }
            for r in range(len(self.values))
            for a in range(len(self.alphas))
        ]


def best_alpha_by_row(
    landscape: Landscape, *, key: Callable = int, ends: Sequence[str] = ("smallest", "largest")
) -> dict:
    """Per row (keyed by `key` of its value): the alpha with the best test accuracy, that
    accuracy, and the best test accuracy at the `ends` of the alpha grid (the sides of the U)."""
    best = landscape.best["best_val_acc"]  # [R, A]
    column = {"smallest": 0, "largest": -1}
    out = {}
    for r, value in enumerate(landscape.values):
        a = int(np.nanargmax(best[r])) if np.isfinite(best[r]).any() else 0
        out[key(value)] = {
            "best_alpha": float(landscape.alphas[a]),
            "best_val_acc": float(best[r, a]),
            **{f"val_acc_{end}_alpha": float(best[r, column[end]]) for end in ends},
        }
    return out


def runs_and_landscape(rows, shown_rows, columns, notes, land, land_table, files) -> Outcome:
    """The outcome of grokking runs beside a landscape: the runs' numbers by run (from `rows`)
    and the landscape's under "landscape"; the runs' table (of `shown_rows`, headed by
    `columns`) shown with the landscape's."""
    numbers = {**by_run(rows, columns), "landscape": land}
    return Outcome(numbers, table_of(shown_rows, columns), notes, files, second_table=land_table)


def best_alpha_table(
    landscape: Landscape, row: str, *, key: Callable = int, ends=("smallest", "largest"), at: str
) -> tuple[dict, str]:
    """`best_alpha_by_row` and its Markdown table: a line per row (headed `row`), its best
    alpha and test accuracy, then the accuracy at each end, headed f"{at} {alpha:.3g}"."""
    best = best_alpha_by_row(landscape, key=key, ends=ends)
    alphas = landscape.alphas[[{"smallest": 0, "largest": -1}[end] for end in ends]]
    header = [row, "best alpha", "best test acc", *(f"{at} {alpha:.3g}" for alpha in alphas)]
    return best, markdown_table(header, [[r, *v.values()] for r, v in best.items()])


def goldilocks_margin(row: dict) -> float:
    """A row of `best_alpha_by_row`: its best test accuracy minus the better of the two ends of
    the alpha grid (> 0: best at a middle norm)."""
    return row["best_val_acc"] - max(row["val_acc_smallest_alpha"], row["val_acc_largest_alpha"])


def landscape_points(
    base: RunSpec, *, alphas: Sequence[float], axis: str, values: Sequence[object]
) -> list[RunSpec]:
    """One single-member spec per cell, rows (values) outer, alphas inner: norm constrained,
    weight decay 0, the member's init_scale = alpha."""
    axis, held = axis_name(axis), replace(base.interventions, norm_constraint=True)
    cell = replace(base, interventions=held, members=(replace(base.members[0], weight_decay=0.0),))
    return [apply_point(cell, {axis: v, "init_scale": float(a)}) for v in values for a in alphas]


def run_landscape(
    base: RunSpec,
    *,
    alphas: Sequence[float],
    axis: str,
    values: Sequence[object],
    ctx: ExperimentContext,
    max_members: int = 64,
) -> Landscape:
    """Train (or read back) every cell of the grid and keep each cell's best values."""
    points = landscape_points(base, alphas=alphas, axis=axis, values=values)
    result = common.train_points(points, ctx, max_members=max_members)
    best = {m: np.full((len(values), len(alphas)), np.nan) for m in METRICS}
    norms = np.full((len(values), len(alphas)), np.nan)
    for i, row in enumerate(result.rows):
        r, a = divmod(i, len(alphas))
        curves = common.population_of(result, row).curves
        member = {k: v[row["member"]] for k, v in curves.items() if k != "step"}
        for name, value in best_values(member).items():
            best[name][r, a] = value
        norms[r, a] = row["final_weight_norm"]
    return Landscape(np.asarray(alphas, float), axis_name(axis), np.asarray(values), best, norms)


def landscape_files(
    landscape: Landscape, *, stem: str, title: str, axis_label: str = "", lu_row: int | None = None
) -> Files:
    """Heat maps of the four best values, the L/U slice of one row (default: the last), and
    the cells as CSV: `<stem>.png`, `<stem>.csv`."""
    label, best = axis_label or landscape.axis, landscape.best
    grid = {"alphas": landscape.alphas, "values": landscape.values, "axis_label": label}
    fig = build_figure(5, figsize=(24.0, 4.6))
    for ax, metric in zip(fig.axes[:4], METRICS, strict=True):
        plot_heatmap(ax, best[metric], metric=metric, **grid)
    r = len(landscape.values) - 1 if lu_row is None else lu_row
    lu = landscape.norms[r], best["best_train_loss"][r], best["best_val_loss"][r]
    plot_lu(fig.axes[4], *lu, label=f"{label} = {landscape.values[r]:.3g}: L and U")
    return Files([Drawing(f"{stem}.png", fig, title)], {f"{stem}.csv": landscape.rows()})


@dataclass(frozen=True)
class LandscapeFigure:
    """A landscape, declared: the spec field its rows vary (`axis`, e.g. "n_train"), the size's
    field that holds their values, its files' stem and the rows' label on the figure."""

    axis: str
    values: str  # e.g. "n_trains", "messiness"
    stem: str
    axis_label: str

    def run(self, base: RunSpec, size: Any, ctx: ExperimentContext, title: str, **more: Any):
        """`run_landscape` from `base` over the size's alphas and values (`more`: max_members)
        and its `landscape_files` (`more`: lu_row). Returns the landscape and the files."""
        lu_row, values = more.pop("lu_row", None), getattr(size, self.values)
        land = run_landscape(
            base, alphas=size.alphas, axis=self.axis, values=values, ctx=ctx, **more
        )
        drawing = {"stem": self.stem, "title": title, "axis_label": self.axis_label}
        return land, landscape_files(land, lu_row=lu_row, **drawing)
