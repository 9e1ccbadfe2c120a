"""The functions of the binary operations of Power et al. (2022) and of the official openai/grok
code; their names, formulas, domains and rules (p in range, prime where needed) are declared in
groklab/catalog.py, below the spec, and `OPS` joins each declaration to its functions here.

Each op is a vectorized function of int64 arrays x, y and the modulus p, plus an optional
filter of the pairs where it is defined. `make_table` evaluates it on every defined pair.

Example, division mod 5: 3 / 2 = 4 because 2 * 4 = 8 = 3 (mod 5); the y = 0 column is left
out, so the table has 5 * 4 rows:

>>> table = make_table("div", 5)
>>> table.n_examples, int(table.targets[(table.x == 3) & (table.y == 2)])
(20, 4)
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from groklab.catalog import OPERATIONS, P_MAX, P_MIN, PAPER_OPS, OpInfo, check_op_p
from groklab.data import s5
from groklab.data.table import Table
from groklab.errors import SpecError

__all__ = ["OPS", "P_MAX", "P_MIN", "PAPER_OPS", "BinaryOp", "check_op_p", "make_table"]

OpFn = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class BinaryOp:
    """One operation: `fn(x, y, p)` gives z for int64 arrays; `defined(x, y, p)` the pairs kept."""

    name: str
    formula: str
    domain: str
    needs_prime: bool
    is_group: bool
    fn: OpFn
    defined: OpFn | None = None


def _inverse(y: np.ndarray, p: int) -> np.ndarray:
    """y^(p-2) mod p, the inverse of y != 0 for prime p (Fermat); never integer division."""
    table = np.array([pow(v, p - 2, p) for v in range(p)], dtype=np.int64)
    return table[y]


def _div_or_sub(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    # y = 0 is even, so it takes the x - y branch: every pair is defined.
    return np.where(y % 2 == 1, x * _inverse(y, p), x - y) % p


def _s5_conj(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    return s5.COMPOSE[s5.COMPOSE[x, y], s5.INVERSE[x]]


# name -> fn, or (fn, defined) for an op defined on some pairs only; an S5 op ignores p
_FUNCTIONS: dict[str, OpFn | tuple[OpFn, OpFn]] = {
    "add": lambda x, y, p: (x + y) % p,
    "sub": lambda x, y, p: (x - y) % p,
    "mul": lambda x, y, p: (x * y) % p,
    "div": (lambda x, y, p: (x * _inverse(y, p)) % p, lambda x, y, p: y != 0),
    "div_or_sub": _div_or_sub,
    "sq_sum": lambda x, y, p: (x * x + y * y) % p,
    "quad": lambda x, y, p: (x * x + x * y + y * y) % p,
    "quad_x": lambda x, y, p: (x * x + x * y + y * y + x) % p,
    "cubic_xy": lambda x, y, p: (x * x * x + x * y) % p,
    "cubic_xy2_y": lambda x, y, p: (x * x * x + x * y * y + y) % p,
    "s5_mul": lambda x, y, p: s5.COMPOSE[x, y],
    "s5_conj": _s5_conj,
    "s5_xyx": lambda x, y, p: s5.COMPOSE[s5.COMPOSE[x, y], x],
    "sq_plus": lambda x, y, p: (x * x + y) % p,
    "cube_plus": lambda x, y, p: (x * x * x + y) % p,
    "add_or_mul": lambda x, y, p: np.where(x % 2 == 0, x + y, x * y) % p,
    "add_or_sub": lambda x, y, p: np.where(x % 2 == 0, x + y, x - y) % p,
}


def _binary_op(info: OpInfo) -> BinaryOp:
    fn, defined = _FUNCTIONS[info.name], None
    if isinstance(fn, tuple):
        fn, defined = fn
    return BinaryOp(
        info.name, info.formula, info.domain, info.needs_prime, info.is_group, fn, defined
    )


# in the declarations' order, the listing order of `groklab ops`
OPS: dict[str, BinaryOp] = {name: _binary_op(info) for name, info in OPERATIONS.items()}


def make_table(op: str, p: int, layout: str = "x_op_y_eq") -> Table:
    """The table of `op` mod `p`: every defined pair, sorted by (x, y); `layout` is how its
    examples are written as tokens ("x_op_y_eq" or "x_y_eq", see `Table`)."""
    check_op_p(op, p)
    if layout not in ("x_op_y_eq", "x_y_eq"):
        raise SpecError(f"layout={layout!r} is not allowed; choose one of x_op_y_eq, x_y_eq")
    p, spec = int(p), OPS[op]
    n = s5.ORDER if spec.is_group else p
    values = np.arange(n, dtype=np.int64)
    x, y = np.repeat(values, n), np.tile(values, n)  # every pair, sorted by (x, y)
    if spec.defined is not None:
        keep = spec.defined(x, y, p)
        x, y = x[keep], y[keep]
    z = spec.fn(x, y, p)
    x, y, z = (torch.from_numpy(np.array(a, dtype=np.int64)) for a in (x, y, z))
    return Table(op, p, x, y, z, n_classes=n, layout=layout)
