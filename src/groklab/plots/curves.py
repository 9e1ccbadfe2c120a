"""Training curves of a run: accuracy, loss and weight norm against optimization step.

Grokking happens over decades of steps, so step is on a log axis. Step 0 (the evaluation at
initialization) cannot sit on a log axis, so every panel plots `step + 1` and says so in its
label. Each member is a thin line; members that share every setting but the seed (a group,
`groklab.analysis.settings.member_groups`) also get their median in bold with a min-max band,
one per group, labelled by what sets the group apart. A dot marks the first step at which each
line reaches 99 %.

    fig = plot_run(store.read_curves(run_id), title=run_id, groups=member_groups(specs))
    save_figure(fig, "out/run.png")
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from groklab.analysis.curves import member_median, steps_to_threshold
from groklab.analysis.settings import MemberGroup
from groklab.plots.style import (
    MEDIAN_LINEWIDTH,
    MEMBER_ALPHA,
    MEMBER_LINEWIDTH,
    SINGLE_LINEWIDTH,
    TRAIN_COLOR,
    VAL_COLOR,
    WEIGHT_NORM_COLOR,
    build_figure,
    save_figure,
)

__all__ = ["plot_accuracy", "plot_loss", "plot_run", "plot_weight_norm", "save_figure"]

STEP_LABEL = "optimization step + 1 (log scale)"
THRESHOLD = 0.99  # the accuracy whose first step gets a marker
BAND_ALPHA = 0.15
GROUP_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
Groups = Sequence[MemberGroup] | None


def plot_accuracy(ax: Axes, curves: dict[str, np.ndarray], *, groups: Groups = None) -> Axes:
    """Train and validation accuracy vs step + 1, log x; a dot where each reaches 99 %."""
    _plot_population(ax, curves, "train_acc", "train", TRAIN_COLOR, groups, mark=True)
    _plot_population(ax, curves, "val_acc", "validation", VAL_COLOR, groups, mark=True)
    _set_log_scale(ax, "x", curves["step"] + 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("accuracy")
    _legend(ax, groups, ("train", "validation"), loc="center left")
    return ax


def plot_loss(ax: Axes, curves: dict[str, np.ndarray], *, groups: Groups = None) -> Axes:
    """Train and validation loss vs step + 1, log-log."""
    _plot_population(ax, curves, "train_loss", "train", TRAIN_COLOR, groups)
    _plot_population(ax, curves, "val_loss", "validation", VAL_COLOR, groups)
    _set_log_scale(ax, "x", curves["step"] + 1)
    _set_log_scale(ax, "y", np.concatenate([curves["train_loss"], curves["val_loss"]], axis=-1))
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("loss (log scale)")
    _legend(ax, groups, ("train", "validation"), loc="lower left")
    return ax


def plot_weight_norm(ax: Axes, curves: dict[str, np.ndarray], *, groups: Groups = None) -> Axes:
    """Weight norm vs step + 1 (dashed), meant for a twin axis of `plot_accuracy`."""
    _plot_population(ax, curves, "weight_norm", "weight norm", WEIGHT_NORM_COLOR, groups)
    _set_log_scale(ax, "x", curves["step"] + 1)
    # with groups, colors name the groups: the label stays neutral
    ax.set_ylabel("weight norm", color="black" if _is_grouped(groups) else WEIGHT_NORM_COLOR)
    _legend(ax, groups, ("weight norm",), loc="center right")
    return ax


def legend_on_twin(ax: Axes, twin: Axes, **legend) -> None:
    """One legend, on the twin axis (drawn on top, so lines never hide it), holding the lines
    of both axes; `ax`'s own legend goes."""
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    ax.get_legend().remove()
    twin.legend(handles + twin_handles, labels + twin_labels, **legend)


def plot_run(curves: dict[str, np.ndarray], *, title: str = "", groups: Groups = None) -> Figure:
    """Two panels: accuracy with weight norm on a twin axis, and loss."""
    fig = build_figure(2)
    acc_ax, loss_ax = fig.axes
    plot_accuracy(acc_ax, curves, groups=groups)
    if np.isfinite(curves["weight_norm"]).any():
        norm_ax = plot_weight_norm(acc_ax.twinx(), curves, groups=groups)
        if _is_grouped(groups):
            acc_ax.get_legend().remove()  # one legend, on the top axis, so lines never hide it
            _legend(norm_ax, groups, ("train", "validation", "weight norm"), loc="center left")
        else:
            legend_on_twin(acc_ax, norm_ax, loc="center left")
    plot_loss(loss_ax, curves, groups=groups)
    n_members = curves["train_acc"].shape[0]
    fig.suptitle(f"{title}  (M = {n_members})" if title else f"M = {n_members}")
    return fig


# Several groups: the color is the group, the line style the quantity.
GROUP_STYLES = {"train": "--", "validation": "-", "weight norm": ":"}


def _is_grouped(groups: Groups) -> bool:
    return groups is not None and len(groups) > 1


def _plot_population(
    ax: Axes,
    curves: dict[str, np.ndarray],
    name: str,
    label: str,
    color: str,
    groups: Groups,
    *,
    mark: bool = False,
) -> None:
    x = np.asarray(curves["step"], dtype=np.float64) + 1  # [S]  step 0 -> 1 on a log axis
    values = np.atleast_2d(curves[name])  # [M, S]
    grouped = _is_grouped(groups)
    if not grouped:
        groups = [MemberGroup("", tuple(range(values.shape[0])))]
    style = {
        "linestyle": GROUP_STYLES[label] if grouped else ("--" if name == "weight_norm" else "-")
    }
    for i, group in enumerate(groups):
        c = GROUP_COLORS[i % len(GROUP_COLORS)] if grouped else color
        members = values[list(group.indices)]  # [G, S]
        text = None if grouped else label
        if members.shape[0] == 1:
            line = members[0]
            ax.plot(x, line, color=c, lw=SINGLE_LINEWIDTH, label=text, **style)
        else:
            for member_values in members:
                ax.plot(x, member_values, color=c, lw=MEMBER_LINEWIDTH, alpha=MEMBER_ALPHA, **style)
            line = member_median(members)
            text = None if grouped else f"{label} (median of {members.shape[0]})"
            ax.plot(x, line, color=c, lw=MEDIAN_LINEWIDTH, label=text, **style)
            ax.fill_between(x, np.nanmin(members, axis=0), np.nanmax(members, axis=0),
                            color=c, alpha=BAND_ALPHA, linewidth=0)  # fmt: skip
        if mark:
            _mark_threshold(ax, x, line, c, None if grouped else label)


def _mark_threshold(ax: Axes, x: np.ndarray, line: np.ndarray, color: str, label: str | None):
    """A dot at the first step where `line` reaches THRESHOLD, named in the legend."""
    step = steps_to_threshold(x - 1, line, THRESHOLD)
    if step != step:
        return
    at = int(np.flatnonzero(x - 1 == step)[0])
    text = f"{label} 99 % at step {int(step):,}" if label else None
    ax.plot(x[at], line[at], marker="o", markersize=7, color=color, linestyle="none", label=text)


def _legend(ax: Axes, groups: Groups, kinds: Sequence[str], *, loc: str) -> None:
    """One entry per labelled line; with several groups, one per group and one per style."""
    if not _is_grouped(groups):
        ax.legend(loc=loc)
        return
    handles = [
        Line2D([], [], color=GROUP_COLORS[i % len(GROUP_COLORS)], lw=MEDIAN_LINEWIDTH,
               label=g.label)
        for i, g in enumerate(groups)
    ]  # fmt: skip
    handles += [Line2D([], [], color="gray", linestyle=GROUP_STYLES[k], label=k) for k in kinds]
    ax.legend(handles=handles, loc=loc, fontsize="small")


def _set_log_scale(ax: Axes, axis: str, data: np.ndarray) -> None:
    """Log scale; with nothing positive to show (no evaluations yet), fixed limits instead of
    matplotlib's error."""
    data = np.asarray(data, dtype=np.float64)
    if not (np.isfinite(data) & (data > 0)).any():
        getattr(ax, f"set_{axis}lim")(1, 10)  # before the scale: turns autoscaling off
    getattr(ax, f"set_{axis}scale")("log")
