"""Fourier norms of an embedding over Z_p: how much of W_E lives at each frequency.

Nanda et al. 2023 (Sec. 4, Fig. 3) read a grokked model's embedding in the Fourier basis of
Z_p, the constant vector and cos/sin(2 pi k x / p) for k = 1..p // 2, each scaled to unit
length: the generalizing circuit uses a few key frequencies and the norms are sparse.
`basis_text` says which basis the page's heat map is drawn in: Z_p, Z_p^* by discrete log
(x*y, x/y), or S5's irreducible representations (measures/s5_irreps.py) for the S5 operations.

    >>> w = np.cos(2 * np.pi * 3 * np.arange(7) / 7)[:, None]     # one column at frequency 3
    >>> embedding_fourier_norms(w).round(3)
    array([0.   , 0.   , 0.   , 1.871])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from groklab.errors import GroklabError

if TYPE_CHECKING:
    from groklab.spec import RunSpec


def embedding_fourier_norms(w_e: np.ndarray) -> np.ndarray:
    """[p, D] embedding of the values 0..p-1 -> [p // 2 + 1] norm per frequency k = 0..p // 2:
    the L2 norm of W_E's projection on the unit-length constant (k = 0), or on the unit-length
    cos and sin vectors of frequency k together. Their squares sum to ||W_E||^2 (Parseval)."""
    w_e = np.asarray(w_e, dtype=np.float64)
    if w_e.ndim != 2 or w_e.shape[0] < 2:
        raise GroklabError(f"an embedding of shape {w_e.shape} given; allowed: [p >= 2, D]")
    p = w_e.shape[0]
    spectrum = np.fft.rfft(w_e, axis=0)  # [p // 2 + 1, D]  F_k = sum_x W[x] exp(-2 pi i k x / p)
    # |F_k|^2 = |cos_k . W|^2 + |sin_k . W|^2, and cos_k, sin_k have squared length p / 2,
    # except the constant (and, for even p, the k = p / 2 cosine), of length p.
    scale = np.full(spectrum.shape[0], np.sqrt(2.0 / p))
    scale[0] = np.sqrt(1.0 / p)
    if p % 2 == 0:
        scale[-1] = np.sqrt(1.0 / p)
    return np.linalg.norm(spectrum, axis=1) * scale


def basis_text(spec: RunSpec, step: int) -> str:
    """What the heat map's columns are, in the basis of the operation's group."""
    from groklab.data.ops import OPS
    from groklab.measures.groups import group_of

    if OPS[spec.data.op].is_group:
        return (
            f"W_E of the 120 elements of S5 at step {step} (the latest state) in the basis of "
            "S5's irreducible representations, the group s5_mul, s5_conj and s5_xyx live in "
            "(Chughtai, Chan, Nanda 2023): the norm of W_E on each irrep's d^2 matrix "
            "coefficients sqrt(d / 120) rho_ij(g), whose square is the stored "
            "fourier_s5/embed/<irrep>; the squares add up to ||W_E||^2."
        )
    basis = group_of(spec.data.op, spec.data.p)
    if basis.name == "multiplicative":
        rows = (
            f"W_E of the nonzero values at step {step} (the latest state) in the Fourier basis "
            f"of the multiplicative group {basis.text}, the group x*y and x/y live in (Chughtai, "
            f"Chan, Nanda 2023): value g^j is row j, and frequency k is cos/sin(2 pi k j / "
            f"{spec.data.p - 1})"
        )
    else:
        rows = (
            f"W_E of the values 0..p-1 at step {step} (the latest state) in the Fourier basis "
            "of the additive group Z_p: frequency k is cos/sin(2 pi k x / p)"
        )
    return (
        f"{rows}; the norm of its constant (k = 0) and of its cos and sin components together, "
        "per frequency k (Nanda et al. 2023, Fig. 3)."
    )
