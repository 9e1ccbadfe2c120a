"""The tasks a run names, as data: the data sets and the operations of a table, with their rules.

The spec checks a `DataSpec` against this catalogue: the data set's name, the `DataSpec` fields
it reads, its defaults and extra checks; for a table, the op's name and the p it allows. The
code that makes the examples lives in data/, above the spec: a data set's maker is named here
as a "module:function" string, imported on first use (so one that needs an optional extra costs
nothing until it is asked for), and each op's functions live in data/ops.py, which builds its
`OPS` from the declarations here. This module imports nothing of groklab but `errors` (no
numpy, no torch), so it sits below every part that reads it, as plugins.py does.

`data` below is a `groklab.spec.DataSpec` (not imported here: the spec imports this module).

Example, the rules of a table's op and p:
    >>> OPERATIONS["div"].needs_prime, OPERATIONS["s5_mul"].is_group
    (True, True)
    >>> check_op_p("div", 12)
    Traceback (most recent call last):
    groklab.errors.SpecError: p=12 is not prime; op 'div' needs a prime p (e.g. 97)
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from groklab.errors import SpecError

P_MIN, P_MAX = 2, 1024  # p <= 1024 keeps x**3 + x*y**2 + y far inside int64


@dataclass(frozen=True)
class OpInfo:
    """One operation of a table as `groklab ops` lists it: its name, formula and domain, whether
    p must be prime, whether it acts in S5 (p ignored). Its functions are in data/ops.py."""

    name: str
    formula: str
    domain: str
    needs_prime: bool
    is_group: bool


_ALL_PAIRS = "0 <= x, y < p"
_S5 = "x, y in S5 (indices 0..119 of the permutations in lexicographic order; p ignored)"


def _modular(
    name: str, formula: str, *, needs_prime: bool = False, domain: str = _ALL_PAIRS
) -> OpInfo:
    return OpInfo(name, f"{formula} (mod p)", domain, needs_prime, False)


def _group(name: str, formula: str) -> OpInfo:
    return OpInfo(name, f"{formula} (in S5)", _S5, False, True)


# insertion order is the listing order of `groklab ops`
OPERATIONS: dict[str, OpInfo] = {
    info.name: info
    for info in (
        # The thirteen of the `groklab ops` contract, in its order (Power et al. 2022, Fig. 2,
        # plus `mul`).
        _modular("add", "x + y"),
        _modular("sub", "x - y"),
        _modular("mul", "x * y"),
        _modular("div", "x / y", needs_prime=True, domain="0 <= x, y < p, y != 0"),
        _modular("div_or_sub", "x / y if y odd else x - y", needs_prime=True),
        _modular("sq_sum", "x^2 + y^2"),
        _modular("quad", "x^2 + xy + y^2"),
        _modular("quad_x", "x^2 + xy + y^2 + x"),
        _modular("cubic_xy", "x^3 + xy"),
        _modular("cubic_xy2_y", "x^3 + xy^2 + y"),
        _group("s5_mul", "x * y"),
        _group("s5_conj", "x * y * x^-1"),
        _group("s5_xyx", "x * y * x"),
        # Four more from the official openai/grok code.
        _modular("sq_plus", "x^2 + y"),
        _modular("cube_plus", "x^3 + y"),
        _modular("add_or_mul", "x + y if x even else x * y"),
        _modular("add_or_sub", "x + y if x even else x - y"),
    )
}

# Power et al. (2022), Fig. 2: the thirteen above without `mul`.
PAPER_OPS: tuple[str, ...] = (
    "add", "sub", "div", "div_or_sub", "sq_sum", "quad", "quad_x", "cubic_xy", "cubic_xy2_y",
    "s5_mul", "s5_conj", "s5_xyx",
)  # fmt: skip


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def check_op_p(op: str, p: int) -> None:
    """Raise a one-line SpecError unless `op` is declared and `p` is allowed for it."""
    if op not in OPERATIONS:
        raise SpecError(f"unknown op {op!r}; choose one of: {', '.join(OPERATIONS)}")
    if not isinstance(p, numbers.Integral) or isinstance(p, bool):
        raise SpecError(f"p={p!r} is not an integer; use an integer in [{P_MIN}, {P_MAX}]")
    if not P_MIN <= p <= P_MAX:
        raise SpecError(f"p={p} is out of range; use an integer in [{P_MIN}, {P_MAX}]")
    if OPERATIONS[op].needs_prime and not _is_prime(int(p)):
        raise SpecError(f"p={p} is not prime; op {op!r} needs a prime p (e.g. 97)")


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
