"""A binary-operation table as tensors, its train masks, label noise and CSV export.

A data set is the full table of examples plus one boolean train mask per population member
Masks and label noise are drawn from the member's own seed and a purpose (groklab/rng.py),
never from its position in the population.

Example, `add` mod 3 with a third of the table for training:

>>> from groklab.data import make_table, train_mask
>>> table = make_table("add", 3)
>>> table.inputs[5].tolist()  # x=1, op, y=2, '=' -> answer (1 + 2) % 3 = 0
[1, 3, 2, 4]
>>> int(train_mask(table.n_examples, seed=0, train_fraction=1 / 3).sum())
3
"""

import csv
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import torch

from groklab import rng
from groklab.errors import GroklabError, SpecError
from groklab.files import write_atomic


@dataclass(frozen=True, eq=False)
class Table:
    """Every defined pair (x, y) of an operation with its answer z, sorted by (x, y).

    `x` and `y` are operand values (for S5, element indices); `targets` holds z in
    [0, n_classes). Token ids in `layout="x_op_y_eq"` (Power et al. 2022): values are
    themselves, the op token is `n_classes`, '=' is `n_classes + 1`. In `layout="x_y_eq"`
    (Nanda et al. 2023) there is no op token and '=' is `n_classes`.
    """

    op: str
    p: int
    x: torch.Tensor  # [N] int64
    y: torch.Tensor  # [N] int64
    targets: torch.Tensor  # [N] int64
    n_classes: int
    layout: str = "x_op_y_eq"

    def __post_init__(self) -> None:
        shapes = {tuple(t.shape) for t in (self.x, self.y, self.targets)}
        if len(shapes) != 1 or len(shapes.pop()) != 1:
            raise ValueError("Table x, y and targets must be 1-D tensors of the same length")

    @property
    def n_examples(self) -> int:
        return int(self.targets.shape[0])

    @property
    def d_vocab(self) -> int:
        return self.n_classes + (2 if self.layout == "x_op_y_eq" else 1)

    @property
    def inputs(self) -> torch.Tensor:
        """[N, 4] int64 tokens `x, op, y, =` (or [N, 3] `x, y, =` in layout "x_y_eq")."""
        if self.layout == "x_y_eq":
            eq_token = torch.full_like(self.x, self.n_classes)
            return torch.stack([self.x, self.y, eq_token], dim=1)
        op_token = torch.full_like(self.x, self.n_classes)
        eq_token = torch.full_like(self.x, self.n_classes + 1)
        return torch.stack([self.x, op_token, self.y, eq_token], dim=1)


def _check_train_fraction(train_fraction: float) -> float:
    is_real = isinstance(train_fraction, numbers.Real) and not isinstance(train_fraction, bool)
    if not is_real or not 0.0 < float(train_fraction) < 1.0:
        raise SpecError(f"train_fraction={train_fraction!r} is not allowed; use a number in (0, 1)")
    return float(train_fraction)


def train_count(train_fraction: float, n_examples: int, *, holdout: bool = False) -> int:
    """round(train_fraction * n_examples), the examples a member trains on; a count that leaves
    no training example (or, without a holdout, no validation example) is refused.

    Example: train_fraction=0.001 of the 121 pairs of p = 11 rounds to 0: refused, naming
    the allowed range [1/121, 120/121].
    """
    fraction = _check_train_fraction(train_fraction)
    count = round(fraction * n_examples)
    most = n_examples if holdout else n_examples - 1
    if not 1 <= count <= most:
        allowed = f">= 1/{n_examples}" if holdout else f"in [1/{n_examples}, {most}/{n_examples}]"
        raise SpecError(
            f"train_fraction={train_fraction!r} trains on {count} of {n_examples} examples; a "
            f"member needs at least 1 training and 1 validation example: allowed {allowed}"
        )
    return count


def train_mask(n_examples: int, *, seed: int, train_fraction: float) -> torch.Tensor:
    """[N] bool: a random round(train_fraction * N) examples (`train_count`: at least 1, at
    most N - 1, or refused).

    The examples are the first ones of a permutation drawn from `rng.generator(seed, SPLIT)`,
    so a member's split depends only on its seed and fraction.
    """
    _check_train_fraction(train_fraction)
    if n_examples < 2:
        raise SpecError(f"n_examples={n_examples} is too small to split; need at least 2")
    n_train = train_count(train_fraction, n_examples)
    order = torch.randperm(n_examples, generator=rng.generator(seed, rng.SPLIT))
    mask = torch.zeros(n_examples, dtype=torch.bool)
    mask[order[:n_train]] = True
    return mask


def make_train_masks(n_examples: int, members: Sequence[tuple[int, float]]) -> torch.Tensor:
    """[M, N] bool: row m is `train_mask(n_examples, seed=s_m, train_fraction=f_m)`."""
    if len(members) == 0:
        raise SpecError("members is empty; a population needs at least one (seed, train_fraction)")
    rows = [train_mask(n_examples, seed=s, train_fraction=f) for s, f in members]
    return torch.stack(rows)


def noisy_targets(
    targets: torch.Tensor, mask: torch.Tensor, *, n_outliers: int, seed: int, n_classes: int
) -> torch.Tensor:
    """[N] a copy of `targets` where `n_outliers` training examples get a wrong answer.

    The examples (uniform among mask-True ones) and their new answers (uniform among the
    n_classes - 1 wrong ones) come from `rng.generator(seed, LABELS)`. These are the
    "outliers" of Liu et al. (2023, Omnigrok) and the label noise of Power et al. (2022).
    """
    if targets.shape != mask.shape:
        raise SpecError(f"targets shape {tuple(targets.shape)} != mask shape {tuple(mask.shape)}")
    train_index = mask.nonzero().flatten()
    if n_classes < 2:
        raise SpecError(f"n_classes={n_classes} leaves no wrong answer; need at least 2")
    if not isinstance(n_outliers, int) or not 0 <= n_outliers <= train_index.numel():
        raise SpecError(
            f"n_outliers={n_outliers} is not allowed; use 0..{train_index.numel()} "
            "(the number of training examples)"
        )
    noisy = targets.clone()
    if n_outliers == 0:
        return noisy
    gen = rng.generator(seed, rng.LABELS)
    chosen = train_index[torch.randperm(train_index.numel(), generator=gen)[:n_outliers]]
    # Adding a shift in [1, n_classes) mod n_classes never returns the true answer.
    shift = torch.randint(1, n_classes, (n_outliers,), generator=gen, dtype=targets.dtype)
    noisy[chosen] = (targets[chosen] + shift) % n_classes
    return noisy


def write_table_csv(table: Table, path: str | os.PathLike[str]) -> None:
    """Write `x,y,z`, one row per pair sorted by (x, y); atomic (temp file, then rename)."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise GroklabError(f"directory {str(parent)!r} does not exist; create it or choose another")
    if path.is_dir():
        raise GroklabError(f"{str(path)!r} is a directory; give a file name such as table.csv")
    order = torch.argsort(table.x * (int(table.y.max()) + 1) + table.y, stable=True)
    rows = torch.stack([table.x, table.y, table.targets], dim=1)[order].tolist()

    def write(f: IO[str]) -> None:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "z"])
        writer.writerows(rows)

    write_atomic(path, write)
