"""The task as a picture: the operation table with hidden entries blank (Power et al. 2022, Fig. 1).

Example:

>>> from matplotlib.figure import Figure
>>> from groklab.data import make_table, train_mask
>>> table = make_table("div", 7)
>>> mask = train_mask(table.n_examples, seed=0, train_fraction=0.5)
>>> ax = plot_table(Figure().subplots(), table, mask)
>>> ax.get_title()
'x / y (mod p), p = 7, train fraction 0.50'
"""

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize

from groklab.data.ops import OPS
from groklab.data.table import Table

MAX_LABELLED = 23  # write the answer in each cell up to this many rows (p <= 23)
CMAP = "hsv"  # cyclic like the answers mod p, and never near white (white means hidden)


def _grid(table: Table, mask: torch.Tensor | None) -> np.ma.MaskedArray:
    """[n, n] answers at (row x, column y); undefined and validation pairs masked."""
    n = table.n_classes
    grid = np.full((n, n), np.nan)
    shown = np.ones(table.n_examples, dtype=bool) if mask is None else mask.numpy().astype(bool)
    x, y, z = (t.numpy() for t in (table.x, table.y, table.targets))
    grid[x[shown], y[shown]] = z[shown]
    return np.ma.masked_invalid(grid)


def _title(table: Table, mask: torch.Tensor | None) -> str:
    fraction = 1.0 if mask is None else float(mask.float().mean())
    spec = OPS[table.op]
    modulus = "" if spec.is_group else f", p = {table.p}"
    return f"{spec.formula}{modulus}, train fraction {fraction:.2f}"


def plot_table(ax: Axes, table: Table, mask: torch.Tensor | None = None) -> Axes:
    """Draw the table on `ax`: rows x, columns y, color z; blank (white) where hidden.

    `mask` is one member's [N] train mask (False = validation, drawn blank); None shows all.
    Pairs where the op is undefined (y = 0 for `div`) are blank too.
    """
    if mask is not None and mask.shape != table.targets.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != table shape ({table.n_examples},)")
    n = table.n_classes
    grid = _grid(table, mask)
    cmap = colormaps[CMAP].with_extremes(bad="white")
    norm = Normalize(0, n)  # z / n around the cyclic map, so n - 1 and 0 are neighbours
    ax.imshow(grid, cmap=cmap, norm=norm, interpolation="nearest")
    if n <= MAX_LABELLED:
        _write_answers(ax, grid, cmap(norm(grid.filled(0))))
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
    ax.set_xlabel("y")
    ax.set_ylabel("x")
    ax.set_title(_title(table, mask))
    return ax


def _write_answers(ax: Axes, grid: np.ma.MaskedArray, colors: np.ndarray) -> None:
    """Each visible answer in its cell, black on light colors and white on dark ones."""
    fontsize = min(10.0, 120.0 / grid.shape[0])
    for x, y in np.argwhere(~np.ma.getmaskarray(grid)):
        luminance = colors[x, y, :3] @ np.array([0.299, 0.587, 0.114])
        color = "black" if luminance > 0.5 else "white"
        ax.text(
            y, x, str(int(grid[x, y])), ha="center", va="center", fontsize=fontsize, color=color
        )
