"""The binary operations of Power et al. (2022) and of the official openai/grok code.

Each op is a vectorized function of int64 arrays x, y and the modulus p, plus an optional
filter of the pairs where it is defined. `make_table` evaluates it on every defined pair.

Example, division mod 5: 3 / 2 = 4 because 2 * 4 = 8 = 3 (mod 5); the y = 0 column is left
out, so the table has 5 * 4 rows:

>>> table = make_table("div", 5)
>>> table.n_examples, int(table.targets[(table.x == 3) & (table.y == 2)])
(20, 4)
"""

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from groklab.data import s5
from groklab.data.table import Table
from groklab.errors import SpecError

P_MIN, P_MAX = 2, 1024  # p <= 1024 keeps x**3 + x*y**2 + y far inside int64

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


OPS: dict[str, BinaryOp] = {}  # insertion order is the listing order of `groklab ops`


def _inverse(y: np.ndarray, p: int) -> np.ndarray:
    """y^(p-2) mod p, the inverse of y != 0 for prime p (Fermat); never integer division."""
    table = np.array([pow(v, p - 2, p) for v in range(p)], dtype=np.int64)
    return table[y]


_ALL_PAIRS = "0 <= x, y < p"


def _modular(
    name: str,
    formula: str,
    fn: OpFn,
    *,
    needs_prime: bool = False,
    domain: str = _ALL_PAIRS,
    defined: OpFn | None = None,
) -> BinaryOp:
    return BinaryOp(name, f"{formula} (mod p)", domain, needs_prime, False, fn, defined)


def _group(name: str, formula: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> BinaryOp:
    domain = "x, y in S5 (indices 0..119 of the permutations in lexicographic order; p ignored)"
    return BinaryOp(name, f"{formula} (in S5)", domain, False, True, lambda x, y, p: fn(x, y))


def _div_or_sub(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    # y = 0 is even, so it takes the x - y branch: every pair is defined.
    return np.where(y % 2 == 1, x * _inverse(y, p), x - y) % p


def _s5_conj(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return s5.COMPOSE[s5.COMPOSE[x, y], s5.INVERSE[x]]


for _op in (
    # The thirteen of the `groklab ops` contract, in its order (Power et al. 2022, Fig. 2, plus
    # `mul`).
    _modular("add", "x + y", lambda x, y, p: (x + y) % p),
    _modular("sub", "x - y", lambda x, y, p: (x - y) % p),
    _modular("mul", "x * y", lambda x, y, p: (x * y) % p),
    _modular(
        "div",
        "x / y",
        lambda x, y, p: (x * _inverse(y, p)) % p,
        needs_prime=True,
        domain="0 <= x, y < p, y != 0",
        defined=lambda x, y, p: y != 0,
    ),
    _modular("div_or_sub", "x / y if y odd else x - y", _div_or_sub, needs_prime=True),
    _modular("sq_sum", "x^2 + y^2", lambda x, y, p: (x * x + y * y) % p),
    _modular("quad", "x^2 + xy + y^2", lambda x, y, p: (x * x + x * y + y * y) % p),
    _modular("quad_x", "x^2 + xy + y^2 + x", lambda x, y, p: (x * x + x * y + y * y + x) % p),
    _modular("cubic_xy", "x^3 + xy", lambda x, y, p: (x * x * x + x * y) % p),
    _modular("cubic_xy2_y", "x^3 + xy^2 + y", lambda x, y, p: (x * x * x + x * y * y + y) % p),
    _group("s5_mul", "x * y", lambda x, y: s5.COMPOSE[x, y]),
    _group("s5_conj", "x * y * x^-1", _s5_conj),
    _group("s5_xyx", "x * y * x", lambda x, y: s5.COMPOSE[s5.COMPOSE[x, y], x]),
    # Four more from the official openai/grok code.
    _modular("sq_plus", "x^2 + y", lambda x, y, p: (x * x + y) % p),
    _modular("cube_plus", "x^3 + y", lambda x, y, p: (x * x * x + y) % p),
    _modular(
        "add_or_mul",
        "x + y if x even else x * y",
        lambda x, y, p: np.where(x % 2 == 0, x + y, x * y) % p,
    ),
    _modular(
        "add_or_sub",
        "x + y if x even else x - y",
        lambda x, y, p: np.where(x % 2 == 0, x + y, x - y) % p,
    ),
):
    OPS[_op.name] = _op
del _op

# Power et al. (2022), Fig. 2: the thirteen above without `mul`.
PAPER_OPS: tuple[str, ...] = (
    "add", "sub", "div", "div_or_sub", "sq_sum", "quad", "quad_x", "cubic_xy", "cubic_xy2_y",
    "s5_mul", "s5_conj", "s5_xyx",
)  # fmt: skip


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def check_op_p(op: str, p: int) -> None:
    """Raise a one-line SpecError unless `op` is registered and `p` is allowed for it."""
    if op not in OPS:
        raise SpecError(f"unknown op {op!r}; choose one of: {', '.join(OPS)}")
    if not isinstance(p, numbers.Integral) or isinstance(p, bool):
        raise SpecError(f"p={p!r} is not an integer; use an integer in [{P_MIN}, {P_MAX}]")
    if not P_MIN <= p <= P_MAX:
        raise SpecError(f"p={p} is out of range; use an integer in [{P_MIN}, {P_MAX}]")
    if OPS[op].needs_prime and not _is_prime(int(p)):
        raise SpecError(f"p={p} is not prime; op {op!r} needs a prime p (e.g. 97)")


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
