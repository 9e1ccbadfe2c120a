"""The group an operation lives in, and the order of its elements the Fourier basis reads.

Nanda et al. read a model of x + y mod p in the Fourier basis of the additive group Z_p: row x
of W_E is the value x, and frequency k is cos/sin(2 pi k x / p). A model of x * y or x / y
(p prime) is expected to use the characters of the multiplicative group Z_p^* instead
(Chughtai, Chan, Nanda 2023): Z_p^* is cyclic of order p - 1, every nonzero x is g^j for a
generator g, and x * y = g^(i + j), x / y = g^(i - j). Indexing the nonzero residues by their
discrete logarithm j turns the multiplicative group into Z_(p-1), whose Fourier basis is the
usual one: frequency k is cos/sin(2 pi k j / (p - 1)). The residue 0 is not in the group and
is left out.

    >>> primitive_root(7)
    3
    >>> log_order(7)      # 3^0, 3^1, ..., 3^5 mod 7
    [1, 3, 2, 6, 4, 5]
    >>> group_of("div", 7).text, group_of("add", 7).text
    ('Z_7^* indexed by discrete log base 3', 'Z_7')
"""

from __future__ import annotations

from dataclasses import dataclass

MULTIPLICATIVE_OPS = ("mul", "div")  # x * y, x / y: Z_p^* when p is prime


@dataclass(frozen=True)
class Basis:
    name: str  # "additive" or "multiplicative"
    values: list[int]  # the residues in the order the basis indexes them (W_E's rows)
    text: str  # what a figure or a table says about it


def is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, int(p**0.5) + 1))


def primitive_root(p: int) -> int:
    """The smallest generator of Z_p^* (p prime): g whose powers g^0..g^(p-2) are 1..p-1."""
    if not is_prime(p):
        raise ValueError(f"p={p} is not prime: Z_p^* is not a cyclic group of order p - 1")
    order = p - 1
    factors = {d for d in range(2, order + 1) if order % d == 0 and is_prime(d)}
    for g in range(1, p):
        if all(pow(g, order // q, p) != 1 for q in factors):
            return g
    raise AssertionError("a prime has a primitive root")  # pragma: no cover


def log_order(p: int) -> list[int]:
    """The nonzero residues mod p (prime) by discrete logarithm: [g^0, g^1, ..., g^(p-2)]."""
    g = primitive_root(p)
    return [pow(g, j, p) for j in range(p - 1)]


def group_of(op: str, p: int) -> Basis:
    """The basis a model of `op` mod p is read in: multiplicative (mul, div with p prime, the
    nonzero residues by discrete log), else additive (Z_p, the values 0..p-1)."""
    if op in MULTIPLICATIVE_OPS and is_prime(p):
        g = primitive_root(p)
        return Basis("multiplicative", log_order(p), f"Z_{p}^* indexed by discrete log base {g}")
    return Basis("additive", list(range(p)), f"Z_{p}")
