"""The LLC sampler's calibration grid (`groklab measure RUN --calibrate-llc`): the estimate of
each (eps, n beta) cell with its R-hat, and each cell's trace against draw, as devinterp's
epsilon-beta analysis draws them."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from groklab.measures.chains import DRIFT_LIMIT, RHAT_LIMIT
from groklab.measures.llc_calibration import CalibrationResult
from groklab.plots.style import build_figure


def plot_llc_grid(ax: Axes, result: CalibrationResult) -> Axes:
    """Rows eps, columns n beta; colour the estimate, text the estimate, R-hat and drift.
    A diverged cell is grey and says so; an unsettled one is framed in red."""
    shape = (len(result.epsilons), len(result.n_betas))
    llc = np.array([c.llc if not c.diverged else np.nan for c in result.cells]).reshape(shape)
    cmap = colormaps["viridis"].with_extremes(bad="lightgrey")  # diverged cells grey
    image = ax.imshow(np.ma.masked_invalid(llc), cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label="llc (mean over chains and draws)")
    for index, cell in enumerate(result.cells):
        i, j = divmod(index, shape[1])
        if cell.diverged:
            ax.text(j, i, "diverged", ha="center", va="center", fontsize="small")
            continue
        text = f"{cell.llc:.4g}\nR̂ {cell.rhat:.2f}\ndrift {cell.drift:+.2f}"
        box = {"facecolor": "white", "alpha": 0.7, "lw": 0}
        ax.text(j, i, text, ha="center", va="center", fontsize="x-small", bbox=box)
        if cell.rhat > RHAT_LIMIT or abs(cell.drift) > DRIFT_LIMIT:
            ax.add_patch(_frame(ax, i, j))
    ax.set_xticks(range(shape[1]), [f"{b:g}" for b in result.n_betas])
    ax.set_yticks(range(shape[0]), [f"{e:g}" for e in result.epsilons])
    ax.set_xlabel("n beta")
    ax.set_ylabel("step size eps")
    ax.set_title(f"red frame: not settled (R-hat > {RHAT_LIMIT} or |drift| > {DRIFT_LIMIT})")
    return ax


def _frame(ax: Axes, i: int, j: int):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, edgecolor="red", lw=2)


def plot_llc_traces(ax: Axes, result: CalibrationResult) -> Axes:
    """Each settled-or-not cell's trace, averaged over chains, against draw: a flat line has
    settled; diverged cells are left out."""
    draws = np.arange(result.traces.shape[2])
    for index, cell in enumerate(result.cells):
        if cell.diverged:
            continue
        i, j = divmod(index, len(result.n_betas))
        mean = result.traces[i, j].mean(1)  # [draws] over chains
        ax.plot(draws, mean, lw=1, label=f"eps {cell.epsilon:g}, nβ {cell.n_beta:g}")
    ax.set_xlabel("draw after burn-in")
    ax.set_ylabel("n beta (L_n(w_t) - L_n(w*)), mean over chains")
    ax.set_yscale("symlog")
    if ax.lines:
        ax.legend(fontsize="xx-small", ncol=2)
    return ax


def calibration_figure(result: CalibrationResult, *, title: str) -> Figure:
    fig = build_figure(2, figsize=(13.0, 5.0))
    plot_llc_grid(fig.axes[0], result)
    plot_llc_traces(fig.axes[1], result)
    s = result.sampler
    fig.suptitle(
        f"{title}  (gamma {s.gamma:g}, {s.chains} chains, {s.draws} draws after "
        f"{s.burn_in} burn-in steps)"
    )
    return fig
