"""Panels of Power et al. 2022 not covered by the generic plots: steps to 99 % validation
accuracy against training fraction (Fig. 1 center), markers of when train and validation
reached 99 % on an accuracy panel (Fig. 1 left).

Example:

>>> from matplotlib.figure import Figure
>>> from groklab.analysis import summarize
>>> summaries = summarize({0.3: np.array([np.nan, np.nan]), 0.5: np.array([900.0, 1100.0])})
>>> ax = plot_steps_by_fraction(Figure().subplots(), summaries, budget=2000)
>>> ax.get_legend_handles_labels()[1]
['median over seeds', 'min-max over seeds', 'not reached within budget', 'budget']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from groklab.analysis import Summary
from groklab.plots.style import SINGLE_LINEWIDTH, TRAIN_COLOR, VAL_COLOR

STEPS_COLOR = "#9467bd"  # purple: neither train nor validation
NEVER_COLOR = "#7f7f7f"


def plot_steps_by_fraction(
    ax: Axes,
    summaries: Sequence[Summary],
    *,
    budget: float,
    train: Sequence[Summary] | None = None,
    best: Mapping[object, float] | None = None,
) -> Axes:
    """Median steps to 99 % validation (log y) against training fraction, a min-max band over
    the seeds that got there, and a hollow marker on the budget line for every fraction with
    seeds that never did, labelled "k/n not reached" (and "best 0.92": `best`, the best
    validation accuracy any seed reached there, keyed like `summaries`).

    With `train` (the same for 99 % training accuracy), both are drawn: the vertical gap
    between them is the grokking delay. `summaries` are `groklab.analysis.summarize` output
    keyed by training fraction.
    """
    lows = []
    if train is not None:
        lows.append(_plot_median_band(ax, train, TRAIN_COLOR, "99 % train", marker="s"))
    name = "99 % validation" if train is not None else "validation"
    lows.append(_plot_median_band(ax, summaries, VAL_COLOR if train else STEPS_COLOR, name))
    fractions = np.array([float(s.key) for s in summaries])  # [F]
    never = np.array([s.n_never > 0 for s in summaries])
    ax.plot(
        fractions[never],
        np.full(never.sum(), float(budget)),
        "o",
        markersize=9,
        markerfacecolor="none",
        markeredgecolor=NEVER_COLOR,
        markeredgewidth=1.5,
        linestyle="none",
        label="not reached within budget",
    )
    for s in summaries:
        if s.n_never:
            ax.annotate(
                _never_text(s, best),
                (float(s.key), float(budget)),
                xytext=(0, -14),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color=NEVER_COLOR,
            )
    ax.axhline(budget, color=NEVER_COLOR, linestyle="--", lw=1, label="budget")
    ax.set_yscale("log")
    top = float(budget) * 1.6  # room above the budget line for the hollow markers
    finite = np.concatenate(lows)
    finite = finite[np.isfinite(finite)]
    ax.set_ylim(max(1.0, 0.5 * finite.min()) if finite.size else float(budget) / 100, top)
    ax.set_xlabel("training fraction")
    what = "accuracy" if train is not None else "validation accuracy"
    ax.set_ylabel(f"steps until {what} >= 99 %")
    ax.grid(alpha=0.3, which="both")
    ax.margins(x=0.08)
    # the validation curve falls from top left to bottom right; the train line runs low
    ax.legend(loc="upper right" if train is not None else "lower left", fontsize=8)
    return ax


def _plot_median_band(
    ax: Axes, summaries: Sequence[Summary], color: str, name: str, *, marker: str = "o"
) -> np.ndarray:
    """The median over seeds with its min-max band; returns the band's lower edge, [F]."""
    fractions = np.array([float(s.key) for s in summaries])  # [F]
    median = np.array([s.median for s in summaries])
    lo, hi = np.array([s.min for s in summaries]), np.array([s.max for s in summaries])
    reached = np.isfinite(median)
    prefix = "" if name == "validation" else f"{name}, "
    ax.plot(fractions[reached], median[reached], f"{marker}-", color=color,
            lw=SINGLE_LINEWIDTH, label=f"{prefix}median over seeds")  # fmt: skip
    if reached.any():
        ax.fill_between(fractions[reached], lo[reached], hi[reached], color=color, alpha=0.2,
                        linewidth=0, label=f"{prefix}min-max over seeds")  # fmt: skip
    return lo


def _never_text(s: Summary, best: Mapping[object, float] | None) -> str:
    """'2/3 not reached (best 0.92)': how many seeds never got there, and how close any came."""
    text = f"{s.n_never}/{s.n} not reached"
    if best is not None and np.isfinite(best.get(s.key, np.nan)):
        text += f" (best {best[s.key]:.2f})"
    return text


def mark_threshold_steps(ax: Axes, steps_to_train: float, steps_to_val: float) -> Axes:
    """Dotted vertical lines where train and validation first reached 99 % (skipped if never);
    on a `plot_accuracy` panel, whose x is step + 1."""
    for step, color, name in (
        (steps_to_train, TRAIN_COLOR, "train"),
        (steps_to_val, VAL_COLOR, "validation"),
    ):
        if np.isfinite(step):
            ax.axvline(
                step + 1,
                color=color,
                linestyle=":",
                lw=1.2,
                label=f"{name} 99 % at step {step:,.0f}",
            )
    return ax
