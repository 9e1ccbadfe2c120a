"""What the report's heat map of the embedding says: W_E's norm along each frequency (or irrep)
of the basis its operation's group calls for, read from the stored measures.

Nanda et al. 2023 (Sec. 4, Fig. 3) read a grokked model's embedding in the Fourier basis of
Z_p: the generalizing circuit uses a few key frequencies and the norms are sparse. A model of
x*y or x/y is read in the multiplicative group Z_p^* (residues by discrete log), and one of an
S5 operation in S5's irreducible representations (Chughtai, Chan, Nanda 2023). The report draws
whichever of HEATMAP_MEASURES applies to the run, from its stored values, and `basis_text`
says which basis that is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groklab.catalog import OPERATIONS

if TYPE_CHECKING:
    from groklab.spec import RunSpec

# The measures the heat map reads, one per basis (at most one applies to a run); the first
# prefix each stores holds the per-frequency (per-irrep) values.
HEATMAP_MEASURES = ("fourier_embed", "fourier_embed_mul", "fourier_embed_s5")


def basis_text(spec: RunSpec, step: int) -> str:
    """What the heat map's columns are, in the basis of the operation's group."""
    from groklab.measures.groups import group_of

    if OPERATIONS[spec.data.op].is_group:
        return (
            f"W_E of the 120 elements of S5 at step {step} (the latest measured) in the basis of "
            "S5's irreducible representations, the group s5_mul, s5_conj and s5_xyx live in "
            "(Chughtai, Chan, Nanda 2023): the norm of W_E on each irrep's d^2 matrix "
            "coefficients sqrt(d / 120) rho_ij(g), whose square is the stored "
            "fourier_s5/embed/<irrep>; the squares add up to ||W_E||^2."
        )
    basis = group_of(spec.data.op, spec.data.p)
    if basis.name == "multiplicative":
        rows = (
            f"W_E of the nonzero values at step {step} (the latest measured) in the Fourier basis "
            f"of the multiplicative group {basis.text}, the group x*y and x/y live in (Chughtai, "
            f"Chan, Nanda 2023): value g^j is row j, and frequency k is cos/sin(2 pi k j / "
            f"{spec.data.p - 1})"
        )
    else:
        rows = (
            f"W_E of the values 0..p-1 at step {step} (the latest measured) in the Fourier basis "
            "of the additive group Z_p: frequency k is cos/sin(2 pi k x / p)"
        )
    return (
        f"{rows}; the norm of its constant (k = 0) and of its cos and sin components together, "
        "per frequency k (Nanda et al. 2023, Fig. 3)."
    )
