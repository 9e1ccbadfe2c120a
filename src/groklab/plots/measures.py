"""Stored measures against step: one line per measure (the members' median, their range as a
band), on a log step axis, as `groklab plot RUN --measures NAMES` draws them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from groklab.analysis.curves import member_median
from groklab.plots.style import MEDIAN_LINEWIDTH, build_figure

BAND_ALPHA = 0.15  # the members' range


def plot_measures(ax: Axes, curves: dict[str, np.ndarray], names: Sequence[str]) -> Axes:
    """curves: {"step": [S], name: [M, S]}; steps where a measure is missing are skipped."""
    x = np.asarray(curves["step"], dtype=np.float64) + 1  # step 0 -> 1 on a log axis
    for name in names:
        values = np.atleast_2d(curves[name])  # [M, S]
        seen = np.isfinite(values).any(0)
        median = member_median(values[:, seen])
        (line,) = ax.plot(x[seen], median, lw=MEDIAN_LINEWIDTH, label=name)
        if values.shape[0] > 1:
            low, high = np.nanmin(values[:, seen], 0), np.nanmax(values[:, seen], 0)
            ax.fill_between(x[seen], low, high, color=line.get_color(), alpha=BAND_ALPHA, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("step + 1")
    ax.legend(fontsize="small")
    return ax


def measures_figure(curves: dict[str, np.ndarray], names: Sequence[str], *, title: str) -> Figure:
    fig = build_figure(1, figsize=(8.0, 4.5))
    plot_measures(fig.axes[0], curves, names)
    n_members = np.atleast_2d(curves[names[0]]).shape[0]
    fig.suptitle(f"{title}  (M = {n_members})")
    return fig
