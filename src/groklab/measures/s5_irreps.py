"""The irreducible representations of S5 and the Fourier basis of functions on S5 they give.

Chughtai, Chan, Nanda 2023 ("A toy model of universality") read a model of a group operation
in the group's irreducible representations: a model of x·y in S5 embeds each element g as
entries of rho(g) for a few irreps rho. S5 has 7 of them, of dimensions 1, 1, 4, 4, 5, 5, 6
(1 + 1 + 16 + 16 + 25 + 25 + 36 = 120 = |S5|), all real. Each is built here as real
orthogonal matrices [120, d, d] indexed by data/s5.py's numbering of the permutations, with
rho(x·y) = rho(x) @ rho(y) for COMPOSE's "apply y, then x":

- trivial: 1; sign: the parity of g, +1 or -1;
- standard (4): the permutation matrices on R^5 (P(g) e_i = e_g[i]) restricted to the
  sum-zero vectors, in an orthonormal basis; standard_sign: standard times sign;
- five (5): the permutation matrices on the 10 two-element subsets {a, b} -> {g[a], g[b]},
  restricted to the orthogonal complement of the incidence vectors (i -> the sum of the
  subsets holding i), which span the trivial and standard parts; five_sign: five times sign;
- wedge2 (6): the exterior square of standard, on e_i ^ e_j (i < j): its 2 x 2 minors.

The matrix coefficients sqrt(d / 120) rho_ij(g) of all seven are an orthonormal basis of the
functions on S5 (Schur orthogonality and Peter-Weyl): `s5_basis()`, 120 rows grouped by irrep.
A column of W_E is a function of the element; its energy in an irrep is the sum of squares of
its coefficients on that irrep's d^2 rows, and the seven energies add up to its own.

    >>> [IRREPS[name].shape[1] for name in IRREP_NAMES]
    [1, 1, 4, 4, 5, 5, 6]
    >>> w = s5_basis()[BLOCKS["standard"]][:3].T        # [120, 3]: three standard coefficients
    >>> irrep_energies(w).round(6)                       # trivial, sign, standard, ...
    array([0., 0., 3., 0., 0., 0., 0.])
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import torch

from groklab.data.s5 import ORDER, PERMS
from groklab.measures.fourier import gini, sum_sq_weights

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask

IRREP_NAMES = ("trivial", "sign", "standard", "standard_sign", "five", "five_sign", "wedge2")
_PAIRS = tuple(combinations(range(5), 2))  # the 10 two-element subsets, as sorted pairs


def _permutation_matrices(n: int, act) -> np.ndarray:
    """[120, n, n]: P(g) e_i = e_act(g, i), so that P(x·y) = P(x) P(y)."""
    mats = np.zeros((ORDER, n, n))
    for index, g in enumerate(PERMS):
        for i in range(n):
            mats[index, act(g, i), i] = 1.0
    return mats


def _complement(span: np.ndarray) -> np.ndarray:
    """span [n, k] of rank k -> [n, n - k] orthonormal columns spanning its orthogonal
    complement: Gram-Schmidt over the projected unit vectors e_0, e_1, ... (deterministic)."""
    q, _ = np.linalg.qr(span)  # [n, k] orthonormal basis of span
    rest = np.eye(span.shape[0]) - q @ q.T
    found: list[np.ndarray] = []
    for v in rest.T:
        for u in found:
            v = v - (u @ v) * u
        if np.linalg.norm(v) > 1e-9:
            found.append(v / np.linalg.norm(v))
    return np.stack(found, axis=1)


def _parity(g: tuple[int, ...]) -> float:
    inversions = sum(g[i] > g[j] for i in range(5) for j in range(i + 1, 5))
    return -1.0 if inversions % 2 else 1.0


def _wedge2(rho: np.ndarray) -> np.ndarray:
    """[G, d, d] -> [G, d(d-1)/2, d(d-1)/2]: the exterior square, entry ((i, j), (k, l)) =
    rho_ik rho_jl - rho_il rho_jk for i < j, k < l (Cauchy-Binet makes it a homomorphism)."""
    pairs = list(combinations(range(rho.shape[1]), 2))
    i, j = (np.array(a) for a in zip(*pairs, strict=True))
    ik, jl = rho[:, i[:, None], i[None, :]], rho[:, j[:, None], j[None, :]]
    il, jk = rho[:, i[:, None], j[None, :]], rho[:, j[:, None], i[None, :]]
    return ik * jl - il * jk


def _build_irreps() -> dict[str, np.ndarray]:
    sign = np.array([_parity(g) for g in PERMS])[:, None, None]  # [120, 1, 1]
    points = _permutation_matrices(5, lambda g, i: g[i])
    q4 = _complement(np.ones((5, 1)))  # [5, 4] sum-zero vectors
    standard = q4.T @ points @ q4
    pair_index = {pair: k for k, pair in enumerate(_PAIRS)}
    pairs = _permutation_matrices(
        10, lambda g, k: pair_index[tuple(sorted(g[a] for a in _PAIRS[k]))]
    )
    incidence = np.array([[float(i in pair) for i in range(5)] for pair in _PAIRS])  # [10, 5]
    q5 = _complement(incidence)  # [10, 5]
    five = q5.T @ pairs @ q5
    irreps = {
        "trivial": np.ones((ORDER, 1, 1)),
        "sign": sign,
        "standard": standard,
        "standard_sign": sign * standard,
        "five": five,
        "five_sign": sign * five,
        "wedge2": _wedge2(standard),
    }
    for rho in irreps.values():
        rho.setflags(write=False)
    return irreps


IRREPS: dict[str, np.ndarray] = _build_irreps()  # name -> [120, d, d] float64, read-only
_DIMS = [IRREPS[name].shape[1] for name in IRREP_NAMES]
_STARTS = np.cumsum([0, *(d * d for d in _DIMS)])
# name -> the rows of s5_basis() that hold that irrep's d^2 matrix coefficients
BLOCKS: dict[str, slice] = {
    name: slice(int(_STARTS[k]), int(_STARTS[k + 1])) for k, name in enumerate(IRREP_NAMES)
}


def s5_basis() -> np.ndarray:
    """[120, 120] orthonormal rows: sqrt(d / 120) rho_ij(g) over g, for each irrep in
    IRREP_NAMES order and (i, j) row-major within it (rows BLOCKS[name])."""
    rows = [
        np.sqrt(d / ORDER) * IRREPS[name].reshape(ORDER, d * d).T
        for name, d in zip(IRREP_NAMES, _DIMS, strict=True)
    ]
    return np.concatenate(rows)


def irrep_energies(w: np.ndarray) -> np.ndarray:
    """w [120, D] (row g: element g's vector, each column a function on S5) -> [7]: the sum of
    squares of w's coefficients on each irrep's block of s5_basis(), in IRREP_NAMES order;
    they add up to ||w||_F^2."""
    power = (s5_basis() @ np.asarray(w, dtype=np.float64)) ** 2  # [120, D]
    return np.array([power[BLOCKS[name]].sum() for name in IRREP_NAMES])


# -- the registered measure: fn(model, task) -> {name: value} ---------------------------------


def irrep_gini(energies: np.ndarray) -> float:
    """The Gini coefficient of the six non-trivial irreps' coefficient RMS, sqrt(energy / d^2)
    (each energy divided by its number of coefficients, so that blocks of different sizes
    compare): 0 when the energy is spread evenly over the 119 non-trivial coefficients (as a
    random embedding's is, on average), 5/6 when one irrep holds it all."""
    dims = np.array(_DIMS[1:], dtype=np.float64)
    rms = torch.from_numpy(np.sqrt(energies[1:] / dims**2))
    return float(gini(rms))


def embed_irrep_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """S5 operations: `fourier_s5/embed/<irrep>`, the energy (sum of squares) of W_E's 120
    element rows in each irrep's block of `s5_basis()`, which add up to ||W_E[:120]||_F^2;
    `gini_s5/W_E`, `gini_s5/W_L` (W_L = W_out W_U over the 120 answers): `irrep_gini` of those
    energies; `sum_sq_weights`, which needs no basis (Chughtai, Chan, Nanda 2023)."""
    w_e = model.W_E.detach().cpu().double()[:ORDER].numpy()  # [120, D]
    w_l = (model.blocks[-1].mlp.W_out @ model.W_U).detach().cpu().double()[:, :ORDER]  # [H, 120]
    energies = irrep_energies(w_e)
    out = {
        f"fourier_s5/embed/{name}": float(e) for name, e in zip(IRREP_NAMES, energies, strict=True)
    }
    out["gini_s5/W_E"] = irrep_gini(energies)
    out["gini_s5/W_L"] = irrep_gini(irrep_energies(w_l.T.numpy()))
    out["sum_sq_weights"] = sum_sq_weights(model)
    return out
