"""The data sets by name, as data: the `DataSpec` fields each reads and the function making it.

The spec checks a `DataSpec` against this catalogue without importing any data maker; a maker
lives in its own module and is imported when first used, so a data set that needs an optional
extra costs nothing until it is asked for. `data` below is a `groklab.spec.DataSpec` (not
imported here: the spec imports this module).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from groklab.errors import SpecError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    fields: tuple[str, ...]  # the DataSpec fields this data set reads
    maker: str  # "module:function", imported on first use
    checker: Callable[[Any], None] | None = None  # extra validation of the spec
    defaults: dict = field(default_factory=dict)  # values for DataSpec fields left at None

    def make(self, data: Any) -> Any:
        module, _, name = self.maker.partition(":")
        return getattr(importlib.import_module(module), name)(data)

    def check(self, data: Any) -> None:
        if self.checker is not None:
            self.checker(data)


def _check_toy_p(data: Any) -> None:
    if not 2 <= data.p <= 1024:
        raise SpecError(f"p={data.p} is out of range for toy_add; allowed: [2, 1024]")


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "table",
            "a binary-operation table: op mod p",
            ("op", "p", "layout"),
            "groklab.data.datasets:make_table_dataset",
        ),
        DatasetInfo(
            "teacher_student",
            "x ~ N(0, I_5) -> a random tanh MLP 5-100-100-5 (Omnigrok Fig. 2)",
            ("n_examples", "data_seed"),
            "groklab.data.teacher:make_teacher_student",
        ),
        DatasetInfo(
            "mnist",
            "MNIST digits in [0, 1]; messiness m < 1 mixes in class templates (Fig. 3, 7)",
            ("n_examples", "messiness", "source", "data_seed"),
            "groklab.data.mnist:make_mnist",
            defaults={"messiness": 1.0},  # the plain images
        ),
        DatasetInfo(
            "imdb",
            "IMDb reviews (a user CSV) or an offline corpus; top n_words, seq_len (Fig. 4)",
            ("n_examples", "seq_len", "n_words", "source"),
            "groklab.data.imdb:make_imdb",
        ),
        DatasetInfo(
            "qm9",
            "QM9 molecules as graphs, isotropic polarizability (Fig. 5; extra groklab[molecules])",
            ("n_examples", "source"),
            "groklab.data.qm9:make_qm9",
        ),
        DatasetInfo(
            "toy_add",
            "(x + y) mod p, x <= y < p, from a fixed 2-D representation of messiness m (Fig. 6, 8)",
            ("p", "messiness", "data_seed"),
            "groklab.data.toy:make_toy_add",
            _check_toy_p,
            defaults={"messiness": 0.0},  # the structured representation
        ),
        DatasetInfo(
            "toy_add_symbols",
            "x + y, x <= y < p, as symbols for a model that learns their representation (arch "
            "toy; Liu et al. 2022)",
            ("p", "data_seed"),
            "groklab.data.toy:make_toy_add_symbols",
            _check_toy_p,
        ),
    )
}
