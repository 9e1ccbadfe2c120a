"""Every task as one `Dataset` (all examples as tensors) and each member's train and test masks.

A data set is made from its `DataSpec` alone, so every member of a population sees the same
examples; members differ in which of them they train on (their own seed, `train_fraction` or
`n_train`). A data set with a fixed test set marks it as `holdout`: those examples are never
drawn for training and are the only ones evaluated as validation. Without a holdout, the
validation split is every example a member does not train on (Power et al. 2022).

`DATASETS` (groklab/catalog.py) is the registry: name -> which `DataSpec` fields the data set
reads and the function that makes it.

Example:
    >>> ds = make_dataset(DataSpec(op="add", p=5))
    >>> ds.inputs.shape, ds.d_out, ds.is_regression
    (torch.Size([25, 4]), 5, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from groklab import rng
from groklab.catalog import DATASETS
from groklab.data.table import train_count
from groklab.errors import SpecError

if TYPE_CHECKING:
    from groklab.spec import DataSpec, MemberSpec


@dataclass(frozen=True, eq=False)
class Dataset:
    """All examples of a task. Token inputs are int64 ids below `d_vocab`; feature inputs are
    float32 and `d_vocab` is 0. Classification targets are int64 classes below `d_out`;
    regression targets are float32 rows of width `d_out`."""

    inputs: Tensor  # [N, ...] int64 tokens or float32 features
    targets: Tensor  # [N] int64 classes or [N, K] float32
    d_out: int  # output width of the model
    d_vocab: int = 0  # 0 for feature inputs
    holdout: Tensor | None = None  # [N] bool: a fixed test set, never trained on
    templates: Tensor | None = None  # [V, K]: MSE targets per class (None: one-hot)
    notes: str = ""  # what a plot should say about the data (source, preprocessing)

    @property
    def n_examples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def is_regression(self) -> bool:
        return self.targets.is_floating_point()

    @property
    def is_tokens(self) -> bool:
        return not self.inputs.is_floating_point()


def make_table_dataset(data: DataSpec) -> Dataset:
    from groklab.data.ops import make_table

    table = make_table(data.op, data.p, data.layout)
    return Dataset(table.inputs, table.targets, table.n_classes, table.d_vocab)


def make_dataset(data: DataSpec) -> Dataset:
    """The data set a spec names (the same tensors in every process)."""
    return DATASETS[data.dataset].make(data)  # type: ignore[return-value]


def member_train_mask(
    n_examples: int, holdout: Tensor | None, *, seed: int, train_fraction: float, n_train: int
) -> Tensor:
    """[N] bool: `n_train` examples (or round(train_fraction * pool)) drawn from the pool (the
    examples outside `holdout`) by a permutation from `rng.generator(seed, SPLIT)`.

    A member needs at least one training example and, without a holdout, one validation
    example: a fraction that rounds to fewer or more is refused (`train_count`). For an
    operation table (no holdout, n_train 0) this is exactly `train_mask`.
    """
    pool = torch.arange(n_examples) if holdout is None else (~holdout).nonzero().flatten()
    most = len(pool) - (1 if holdout is None else 0)
    if most < 1:
        raise SpecError(f"the data set has {n_examples} examples; too few to split")
    if n_train:
        if n_train > most:
            raise SpecError(f"n_train={n_train} is more than the {most} examples available")
        count = n_train
    else:
        count = train_count(train_fraction, len(pool), holdout=holdout is not None)
    order = torch.randperm(len(pool), generator=rng.generator(seed, rng.SPLIT))
    mask = torch.zeros(n_examples, dtype=torch.bool)
    mask[pool[order[:count]]] = True
    return mask


def make_member_masks(dataset: Dataset, members: Sequence[MemberSpec]) -> tuple[Tensor, Tensor]:
    """(train [M, N], validation [M, N]) bool masks, each row from that member's own spec."""
    train = torch.stack(
        [
            member_train_mask(
                dataset.n_examples,
                dataset.holdout,
                seed=m.seed,
                train_fraction=m.train_fraction,
                n_train=m.n_train,
            )
            for m in members
        ]
    )
    val = ~train if dataset.holdout is None else dataset.holdout.expand_as(train).clone()
    return train, val
