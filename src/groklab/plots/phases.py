"""Phase diagrams (Liu et al. 2022, Fig. 6-7): one colored cell per run over two swept settings
on log axes, colored by its phase of learning (groklab.analysis.phases)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from groklab.analysis.phases import PHASES

# comprehension green, grokking orange, memorization blue, confusion grey
PHASE_COLORS = {
    "comprehension": "#2ca02c",
    "grokking": "#ff7f0e",
    "memorization": "#1f77b4",
    "confusion": "#b0b0b0",
}


def log_edges(values: np.ndarray) -> np.ndarray:
    """[n] increasing positive centres -> [n + 1] cell edges, halfway on a log axis.

    Example: [1, 10, 100] -> [0.316, 3.16, 31.6, 316] (to 3 digits)."""
    logs = np.log10(np.asarray(values, dtype=np.float64))
    if logs.size == 1:
        return 10 ** np.array([logs[0] - 0.5, logs[0] + 0.5])
    mid = (logs[:-1] + logs[1:]) / 2
    return 10 ** np.concatenate([[2 * logs[0] - mid[0]], mid, [2 * logs[-1] - mid[-1]]])


def plot_phase_diagram(
    ax: Axes,
    phases: np.ndarray,
    *,
    x_values: np.ndarray,
    y_values: np.ndarray,
    xlabel: str,
    ylabel: str,
    legend: bool = True,
) -> Axes:
    """phases [Y, X] (names from PHASES) with x_values [X] and y_values [Y] on log axes."""
    codes = np.vectorize(PHASES.index)(np.asarray(phases))  # [Y, X]
    cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES])
    ax.pcolormesh(log_edges(x_values), log_edges(y_values), codes, cmap=cmap, vmin=-0.5,
                  vmax=len(PHASES) - 0.5, edgecolors="white", linewidth=0.5)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        handles = [Patch(color=PHASE_COLORS[p], label=p) for p in PHASES]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax
