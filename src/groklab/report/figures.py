"""The report's figures, each a matplotlib Figure turned into an inline PNG.

PNG rather than an interactive library: matplotlib is already a dependency, a page stays
self-contained and small (tens of kB a figure, where inlining plotly.js adds about 4 MB to
every page of a sweep) and opens offline in any browser, with no script to fail.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis.settings import member_groups
from groklab.plots.curves import STEP_LABEL, plot_run
from groklab.plots.style import MEMBER_LINEWIDTH

MAX_MEMBER_PANELS = 8  # per-layer norms: one panel per member, the first ones
PANEL_SIZE = (3.6, 2.8)
COLUMNS = 3


def png_data_uri(fig: Figure, *, dpi: int = 100) -> str:
    """The figure as a `data:image/png;base64,...` URI for an <img> (nothing on disk)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def curves_figure(curves: Mapping[str, np.ndarray], member_specs: Sequence[Mapping]) -> Figure:
    """Accuracy (weight norm on a twin axis) and loss against step + 1 on a log axis."""
    return plot_run(dict(curves), groups=member_groups(member_specs))


def _grid(n_panels: int, *, sharex: bool = True) -> tuple[Figure, list]:
    rows = -(-n_panels // COLUMNS)
    cols = min(n_panels, COLUMNS)
    fig = Figure(figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=sharex).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _log_step_axis(ax, steps: np.ndarray) -> np.ndarray:
    ax.set_xscale("log")
    ax.set_xlabel(STEP_LABEL, fontsize=7)
    return np.asarray(steps, dtype=np.float64) + 1  # step 0 sits at 1 on a log axis


def layer_norms_figure(norms: Mapping[str, np.ndarray]) -> Figure:
    """One panel per member (the first MAX_MEMBER_PANELS): each parameter's L2 norm vs step."""
    names = [n for n in norms if n != "step"]
    n_members = min(norms[names[0]].shape[0], MAX_MEMBER_PANELS)
    fig, axes = _grid(n_members)
    for member, ax in enumerate(axes):
        x = _log_step_axis(ax, norms["step"])
        for name in names:
            ax.plot(x, norms[name][member], lw=1.2, label=name)
        ax.set_yscale("log")
        ax.set_title(f"member {member}: per-parameter norm", fontsize=9)
    axes[0].legend(fontsize=6, ncol=2, loc="best")
    return fig


def measures_figure(measures: Mapping[str, np.ndarray]) -> Figure:
    """One panel per measure, one line per member, against step + 1 (log axis)."""
    names = [n for n in measures if n != "step"]
    fig, axes = _grid(len(names))
    for name, ax in zip(names, axes, strict=True):
        x = _log_step_axis(ax, measures["step"])
        values = measures[name]  # [M, S]
        for member, row in enumerate(values):
            seen = np.isfinite(row)  # a measure may be taken at fewer steps than the metrics
            ax.plot(x[seen], row[seen], lw=MEMBER_LINEWIDTH * 1.5, marker=".", label=f"{member}")
        ax.set_title(name, fontsize=9)
    if len(measures[names[0]]) > 1:
        axes[0].legend(title="member", fontsize=6, title_fontsize=6)
    return fig


def fourier_figure(
    norms: np.ndarray, members: Sequence[int], *, labels: Sequence[str] | None = None
) -> Figure:
    """Heat map: rows the members, columns the frequencies k = 0..p // 2 of Z_p, or the basis's
    blocks named by `labels` (S5's irreps)."""
    n_freqs = norms.shape[1]
    fig = Figure(figsize=(max(6.0, 0.12 * n_freqs + 2), 1.2 + 0.3 * len(members)))
    fig.set_layout_engine("constrained")
    ax = fig.subplots()
    image = ax.imshow(norms, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(members)), [f"member {m}" for m in members], fontsize=7)
    if labels is not None:
        ax.set_xticks(range(n_freqs), list(labels), fontsize=7)
        ax.set_xlabel("irreducible representation (dimension)")
        fig.colorbar(image, ax=ax, label="norm of W_E")
        return fig
    ticks = np.unique(np.linspace(0, n_freqs - 1, min(n_freqs, 12)).round().astype(int))
    ax.set_xticks(ticks, [str(k) for k in ticks], fontsize=7)
    ax.set_xlabel("frequency k (0 = constant)")
    fig.colorbar(image, ax=ax, label="norm of W_E at k")
    return fig
