"""measures/s5_irreps.py: the seven irreps of S5 are orthogonal homomorphisms under COMPOSE's
convention, irreducible and pairwise inequivalent (orthonormal characters), and their matrix
coefficients are an orthonormal, complete basis of the functions on S5."""

import numpy as np
import pytest
import torch

from groklab.data.s5 import COMPOSE, INVERSE, ORDER, PERMS
from groklab.measures import MEASURES
from groklab.measures.s5_irreps import BLOCKS, IRREP_NAMES, IRREPS, irrep_energies, s5_basis
from groklab.spec import DataSpec, ModelSpec, RunSpec

from .test_fourier import tiny_member


def characters() -> np.ndarray:
    """[7, 120]: the trace of each irrep at each element."""
    return np.stack([np.trace(IRREPS[name], axis1=1, axis2=2) for name in IRREP_NAMES])


def test_the_seven_irreps_have_dimensions_1_1_4_4_5_5_6_whose_squares_sum_to_120():
    dims = [IRREPS[name].shape[1:] for name in IRREP_NAMES]
    assert dims == [(d, d) for d in (1, 1, 4, 4, 5, 5, 6)]
    assert sum(d * d for d, _ in dims) == ORDER
    assert all(IRREPS[name].shape[0] == ORDER for name in IRREP_NAMES)


@pytest.mark.parametrize("name", IRREP_NAMES)
def test_each_irrep_is_an_orthogonal_homomorphism_with_composes_convention(name):
    rho = IRREPS[name]  # [120, d, d]
    products = np.einsum("xab,ybc->xyac", rho, rho)  # rho(x) rho(y) for every (x, y)
    np.testing.assert_allclose(rho[COMPOSE], products, atol=1e-12)  # rho(x·y)
    np.testing.assert_allclose(rho[0], np.eye(rho.shape[1]), atol=1e-12)  # identity is index 0
    np.testing.assert_allclose(np.einsum("gab,gcb->gac", rho, rho), np.broadcast_to(
        np.eye(rho.shape[1]), rho.shape), atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(rho[INVERSE], rho.transpose(0, 2, 1), atol=1e-12)


def test_characters_are_orthonormal_so_the_irreps_are_irreducible_and_inequivalent():
    chi = characters()
    np.testing.assert_allclose(chi @ chi.T / ORDER, np.eye(7), atol=1e-12)


def test_the_characters_match_the_textbook_values_at_a_transposition_and_a_5_cycle():
    chi = characters()
    transposition = PERMS.index((1, 0, 2, 3, 4))
    five_cycle = PERMS.index((1, 2, 3, 4, 0))
    # S5's character table: the trace at (01) is 1, -1, 2, -2, 1, -1, 0; at (01234) 1, 1, -1,
    # -1, 0, 0, 1 (trivial, sign, standard, standard x sign, five, five x sign, wedge2).
    np.testing.assert_allclose(chi[:, transposition], [1, -1, 2, -2, 1, -1, 0], atol=1e-12)
    np.testing.assert_allclose(chi[:, five_cycle], [1, 1, -1, -1, 0, 0, 1], atol=1e-12)


def test_the_matrix_coefficients_are_an_orthonormal_and_complete_basis_of_functions_on_s5():
    basis = s5_basis()  # [120, 120]
    np.testing.assert_allclose(basis @ basis.T, np.eye(ORDER), atol=1e-12)  # orthonormal
    np.testing.assert_allclose(basis.T @ basis, np.eye(ORDER), atol=1e-12)  # complete
    f = np.random.default_rng(0).normal(size=ORDER)  # any function is its expansion
    np.testing.assert_allclose(basis.T @ (basis @ f), f, atol=1e-12)
    sizes = [BLOCKS[name].stop - BLOCKS[name].start for name in IRREP_NAMES]
    assert sizes == [1, 1, 16, 16, 25, 25, 36] and BLOCKS["wedge2"].stop == ORDER


def test_irrep_energies_split_the_embeddings_energy_and_a_planted_irrep_holds_all_of_it():
    w = np.random.default_rng(1).normal(size=(ORDER, 8))
    assert irrep_energies(w).sum() == pytest.approx((w**2).sum(), rel=1e-12)
    for k, name in enumerate(IRREP_NAMES):
        planted = IRREPS[name][:, 0, :] * 3.0  # [120, d]: row 0 of rho(g), one column per j
        energies = irrep_energies(planted)
        assert energies[k] == pytest.approx((planted**2).sum(), rel=1e-12)
        assert np.delete(energies, k).max() < 1e-20


def test_the_s5_basis_applies_to_s5_operations_on_a_transformer_only():
    info = MEASURES["fourier_embed_s5"]
    for op in ("s5_mul", "s5_conj", "s5_xyx"):
        assert info.applies(RunSpec(data=DataSpec(op=op)))
        assert not info.applies(RunSpec(data=DataSpec(op=op), model=ModelSpec(arch="mlp")))
    for op in ("add", "mul", "div"):
        assert not info.applies(RunSpec(data=DataSpec(op=op, p=7)))
    s5 = RunSpec(data=DataSpec(op="s5_mul"))
    assert not any(MEASURES[n].applies(s5) for n in ("fourier_embed", "fourier_embed_mul", "gini"))


@pytest.mark.parametrize("planted", ["standard", "five_sign", "wedge2"])
def test_an_embedding_made_of_one_irreps_coefficients_puts_all_its_energy_there(planted):
    model, task = tiny_member(op="s5_conj")
    rho = torch.tensor(IRREPS[planted], dtype=torch.float32)  # [120, d, d]
    d = rho.shape[1]
    with torch.no_grad():
        model.W_E.zero_()
        model.W_E[:ORDER, :d] = rho[:, :, 1]  # column j of W_E: rho_j1(g), a function on S5
        model.W_E[ORDER:] = 5.0  # the op and = tokens are not group elements: not read
    out = MEASURES["fourier_embed_s5"].fn(model, task)
    names = [f"fourier_s5/embed/{name}" for name in IRREP_NAMES]
    assert set(names) | {"gini_s5/W_E", "gini_s5/W_L", "sum_sq_weights"} == set(out)
    total = float(model.W_E.detach()[:ORDER].double().pow(2).sum())  # = 120 (orthogonal rows)
    assert out[f"fourier_s5/embed/{planted}"] == pytest.approx(total, rel=1e-6)
    assert sum(out[n] for n in names if not n.endswith(planted)) < 1e-9
    assert out["gini_s5/W_E"] == pytest.approx(5 / 6, rel=1e-6)  # one of six non-trivial irreps
    assert 0.0 <= out["gini_s5/W_L"] < 5 / 6


def test_a_random_embeddings_energy_splits_by_the_irreps_sizes_and_its_gini_is_small():
    model, task = tiny_member(op="s5_mul")
    out = MEASURES["fourier_embed_s5"].fn(model, task)
    energies = np.array([out[f"fourier_s5/embed/{name}"] for name in IRREP_NAMES])
    total = float(model.W_E.detach()[:ORDER].double().pow(2).sum())
    assert energies.sum() == pytest.approx(total, rel=1e-9)  # Parseval
    assert out["gini_s5/W_E"] < 0.25
