"""One look for every groklab figure, and saving figures safely.

Figures are built with `matplotlib.figure.Figure` directly, never through pyplot: nothing is
shown, no global figure list grows, and the user's chosen backend is left alone. A figure's
title says what a non-paper size shrank (`title_with_shrunk`, or `plot_size_note` on a panel).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from groklab.errors import GroklabError
from groklab.files import write_atomic

TRAIN_COLOR = "#1f77b4"  # blue, as in Power et al. (2022) Fig. 1
VAL_COLOR = "#d62728"  # red
WEIGHT_NORM_COLOR = "#2ca02c"  # green
MEMBER_LINEWIDTH = 0.8  # one thin line per member
MEMBER_ALPHA = 0.35
MEDIAN_LINEWIDTH = 2.2  # the bold population median
SINGLE_LINEWIDTH = 1.6  # a population of one
FIGSIZE = (11.0, 4.2)
FORMATS = ("png", "pdf", "svg")


def build_figure(n_panels: int = 1, *, figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure with `n_panels` axes side by side (pyplot-free)."""
    fig = Figure(figsize=figsize, layout="constrained")
    fig.subplots(1, n_panels, squeeze=False)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> None:
    """Save in the format named by the suffix (png, pdf, svg), atomically, with the mode the
    umask gives a normal file (groklab.files.write_atomic)."""
    path = Path(path)
    fmt = figure_format(path)
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi), binary=True)


def figure_format(path: str | Path) -> str:
    """The format a figure file's suffix names ('png'); another suffix is a one-line error,
    so a command can check its --out before it makes anything."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise GroklabError(f"figure file {path} has suffix {path.suffix!r}; use one of {FORMATS}")
    return fmt


def title_with_shrunk(
    fig: Figure, title: str, shrunk: str = "", *, width: int | None = None
) -> Figure:
    """The figure's title, and under it what a non-paper size shrank ("Shrunk from the paper:
    ..."), each wrapped to `width` characters (default: what fits the figure's width)."""
    width = width or int(fig.get_figwidth() * 13)  # ~13 characters per inch at 9 pt
    lines = [textwrap.fill(title, width)]
    if shrunk:
        lines.append(textwrap.fill(f"Shrunk from the paper: {shrunk}", width))
    fig.suptitle("\n".join(lines), fontsize=9 if shrunk else 11)
    return fig


def plot_size_note(ax: Axes, size: str, shrunk: str, settings: str, *, width: int) -> Axes:
    """A small left-aligned panel title wrapped to `width` characters: what size `size` shrank
    from the paper ("quick size, shrunk from the paper: ..."), or if nothing, the `settings`."""
    note = f"{size} size, shrunk from the paper: {shrunk}" if shrunk else settings
    ax.set_title(textwrap.fill(note, width), fontsize=7, loc="left")
    return ax
