"""Training curves of a run: accuracy, loss and weight norm against optimization step.

Grokking happens over decades of steps, so step is on a log axis. Step 0 (the evaluation at
initialization) cannot sit on a log axis, so every panel plots `step + 1` and says so in its
label. Each member is a thin line; a population (M > 1) also gets its median in bold.

    fig = plot_run(store.read_curves(run_id), title=run_id)
    save_figure(fig, "out/run.png")
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from groklab.plots.style import (
    MEDIAN_LINEWIDTH,
    MEMBER_ALPHA,
    MEMBER_LINEWIDTH,
    SINGLE_LINEWIDTH,
    TRAIN_COLOR,
    VAL_COLOR,
    WEIGHT_NORM_COLOR,
    build_figure,
    member_median,
    save_figure,
)

__all__ = ["plot_accuracy", "plot_loss", "plot_run", "plot_weight_norm", "save_figure"]

STEP_LABEL = "optimization step + 1 (log scale)"


def plot_accuracy(ax: Axes, curves: dict[str, np.ndarray]) -> Axes:
    """Train and validation accuracy vs step + 1, log x."""
    _plot_population(ax, curves, "train_acc", "train", TRAIN_COLOR)
    _plot_population(ax, curves, "val_acc", "validation", VAL_COLOR)
    _set_log_scale(ax, "x", curves["step"] + 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("accuracy")
    ax.legend(loc="center left")
    return ax


def plot_loss(ax: Axes, curves: dict[str, np.ndarray]) -> Axes:
    """Train and validation loss vs step + 1, log-log."""
    _plot_population(ax, curves, "train_loss", "train", TRAIN_COLOR)
    _plot_population(ax, curves, "val_loss", "validation", VAL_COLOR)
    _set_log_scale(ax, "x", curves["step"] + 1)
    _set_log_scale(ax, "y", np.concatenate([curves["train_loss"], curves["val_loss"]], axis=-1))
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("loss (log scale)")
    ax.legend(loc="lower left")
    return ax


def plot_weight_norm(ax: Axes, curves: dict[str, np.ndarray]) -> Axes:
    """Weight norm vs step + 1 (dashed), meant for a twin axis of `plot_accuracy`."""
    _plot_population(ax, curves, "weight_norm", "weight norm", WEIGHT_NORM_COLOR, linestyle="--")
    _set_log_scale(ax, "x", curves["step"] + 1)
    ax.set_ylabel("weight norm", color=WEIGHT_NORM_COLOR)
    ax.legend(loc="center right")
    return ax


def plot_run(curves: dict[str, np.ndarray], *, title: str = "") -> Figure:
    """Two panels: accuracy with weight norm on a twin axis, and loss."""
    fig = build_figure(2)
    acc_ax, loss_ax = fig.axes
    plot_accuracy(acc_ax, curves)
    if np.isfinite(curves["weight_norm"]).any():
        norm_ax = plot_weight_norm(acc_ax.twinx(), curves)
        acc_handles, acc_labels = acc_ax.get_legend_handles_labels()
        norm_handles, norm_labels = norm_ax.get_legend_handles_labels()
        acc_ax.get_legend().remove()  # one legend, on the top axis, so lines never hide it
        norm_ax.legend(acc_handles + norm_handles, acc_labels + norm_labels, loc="center left")
    plot_loss(loss_ax, curves)
    n_members = curves["train_acc"].shape[0]
    fig.suptitle(f"{title}  (M = {n_members})" if title else f"M = {n_members}")
    return fig


def _plot_population(
    ax: Axes, curves: dict[str, np.ndarray], name: str, label: str, color: str, **style: object
) -> None:
    x = np.asarray(curves["step"], dtype=np.float64) + 1  # [S]  step 0 -> 1 on a log axis
    values = np.atleast_2d(curves[name])  # [M, S]
    if values.shape[0] == 1:
        ax.plot(x, values[0], color=color, lw=SINGLE_LINEWIDTH, label=label, **style)
        return
    for member_values in values:
        ax.plot(x, member_values, color=color, lw=MEMBER_LINEWIDTH, alpha=MEMBER_ALPHA, **style)
    median_label = f"{label} (median of {values.shape[0]})"
    ax.plot(x, member_median(values), color=color, lw=MEDIAN_LINEWIDTH, label=median_label, **style)


def _set_log_scale(ax: Axes, axis: str, data: np.ndarray) -> None:
    """Log scale; with nothing positive to show (no evaluations yet), fixed limits instead of
    matplotlib's error."""
    data = np.asarray(data, dtype=np.float64)
    if not (np.isfinite(data) & (data > 0)).any():
        getattr(ax, f"set_{axis}lim")(1, 10)  # before the scale: turns autoscaling off
    getattr(ax, f"set_{axis}scale")("log")
