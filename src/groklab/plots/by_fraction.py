"""A metric against training fraction, one line per variant (Power et al. 2022, Fig. 2 center
and right): the median over seeds with a band from the smallest to the largest seed.

Each series is [F, S], F fractions by S seeds. A nan means "never reached" (e.g. steps to 99 %
validation accuracy): like `groklab.analysis.smallest_fraction`, it counts as later than any
value, so a fraction whose median is never gets an x near the top edge instead of a point.

Example:

>>> from matplotlib.figure import Figure
>>> ax = Figure().subplots()
>>> fractions = np.array([0.3, 0.5])
>>> ax = plot_by_fraction(ax, fractions, {"AdamW": np.array([[0.2, 0.3], [1.0, 1.0]])},
...                       ylabel="best validation accuracy")
>>> [line.get_label() for line in ax.get_lines()]
['AdamW']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from groklab.analysis.curves import median_never_last
from groklab.plots.style import MEDIAN_LINEWIDTH, SINGLE_LINEWIDTH

MARKERS = "osD^v<>pPX*h"
BAND_ALPHA = 0.12


def plot_by_fraction(
    ax: Axes,
    fractions: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ylabel: str,
    log: bool = False,
    highlight: str | None = None,
) -> Axes:
    """One line per series (median over seeds), a min-max band; `highlight` is drawn bold."""
    colors = colormaps["tab10"].colors
    top = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in axes
    for i, (label, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=np.float64)  # [F, S]
        median = median_never_last(values)
        reached = np.isfinite(median)
        color = "black" if label == highlight else colors[i % len(colors)]
        style = dict(
            color=color,
            marker=MARKERS[i % len(MARKERS)],
            markersize=5,
            linestyle="-" if i < len(colors) else "--",
            linewidth=MEDIAN_LINEWIDTH if label == highlight else SINGLE_LINEWIDTH,
        )
        ax.plot(fractions[reached], median[reached], label=label, **style)
        if values.shape[1] > 1 and reached.any():
            seeds = values[reached]  # a reached median has at least one finite seed
            ax.fill_between(
                fractions[reached],
                np.nanmin(seeds, axis=1),
                np.nanmax(seeds, axis=1),
                color=color,
                alpha=BAND_ALPHA,
                linewidth=0,
            )
        if not reached.all():
            y = 0.98 - 0.02 * (i % 10)  # stagger, so every series' marks stay visible
            ax.plot(
                fractions[~reached],
                np.full((~reached).sum(), y),
                transform=top,
                linestyle="none",
                marker="x",
                color=color,
                clip_on=False,
            )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training fraction")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return ax
