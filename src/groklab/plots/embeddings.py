"""A 2-D projection of class vectors (Power et al. 2022, Fig. 3): one point per class, colored
by class on a cyclic color map and labelled with its class, so a ring ordered by k * c shows
as a ring whose labels step by k.

Example:

>>> from matplotlib.figure import Figure
>>> angle = 2 * np.pi * np.arange(5) / 5
>>> points = np.stack([np.cos(angle), np.sin(angle)], axis=1)
>>> ax = plot_projection(Figure().subplots(), points, xlabel="PC 1", ylabel="PC 2")
>>> [t.get_text() for t in ax.texts]
['0', '1', '2', '3', '4']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes

CMAP = "hsv"  # cyclic, as the classes of x + y (mod p) are
MAX_LABELLED = 130  # label every point up to S5's 120 elements


def plot_projection(
    ax: Axes,
    points: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
) -> Axes:
    """Scatter points [V, 2], point c colored by c / V; `labels` default to the class indices."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points has shape {points.shape}; expected [V, 2]")
    n = points.shape[0]
    labels = [str(c) for c in range(n)] if labels is None else list(labels)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} points; give one per point")
    colors = colormaps[CMAP](np.arange(n) / max(n, 1))
    ax.scatter(points[:, 0], points[:, 1], c=colors, s=28, edgecolors="black", linewidths=0.3)
    if n <= MAX_LABELLED:
        size = 7 if n <= 60 else 5
        for (x, y), label in zip(points, labels, strict=True):
            ax.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=size)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return ax
