"""Data efficiency per task: the smallest training fraction that generalized (Power et al. 2022,
Fig. 2 left), one horizontal bar per operation, tasks that never did drawn distinctly.

Example:

>>> from matplotlib.figure import Figure
>>> ax = Figure().subplots()
>>> ax = plot_smallest_fractions(ax, ["x+y", "x^3+xy^2+y"], [0.3, float("nan")])
>>> [t.get_text() for t in ax.texts]
['0.3', 'not within budget']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from groklab.plots.style import VAL_COLOR

NEVER_COLOR = "#bbbbbb"
NEVER_HATCH = "///"
NEVER_TEXT = "not within budget"


def plot_smallest_fractions(
    ax: Axes,
    labels: Sequence[str],
    fractions: Sequence[float],
    *,
    never_text: str = NEVER_TEXT,
    n_examples: Sequence[int] | None = None,
) -> Axes:
    """One bar per label, the first on top; a nan fraction is a grey hatched bar to 1.0 labelled
    `never_text` (the task never reached the threshold at any fraction tried). With
    `n_examples` (each task's table size), a bar also says how many training examples its
    fraction is: tasks of different sizes compare by that, not by the fraction."""
    values = np.asarray(fractions, dtype=np.float64)
    y = np.arange(len(labels))[::-1]  # first label on top
    never = np.isnan(values)
    ax.barh(y[~never], values[~never], color=VAL_COLOR, height=0.7)
    ax.barh(
        y[never],
        np.ones(never.sum()),
        color="white",
        edgecolor=NEVER_COLOR,
        hatch=NEVER_HATCH,
        height=0.7,
        label=never_text,
    )
    sizes = [None] * len(labels) if n_examples is None else list(n_examples)
    for yi, value, size in zip(y, values, sizes, strict=True):
        text = never_text if np.isnan(value) else f"{value:.3g}"
        if size is not None and not np.isnan(value):
            text += f" ({round(value * size):,} examples)"
        x = 0.02 if np.isnan(value) else value + 0.01
        ax.text(x, yi, text, va="center", ha="left", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlim(0.0, 1.08)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("smallest training fraction with validation accuracy >= 99 %")
    ax.grid(axis="x", alpha=0.3)
    return ax
