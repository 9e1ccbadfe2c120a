import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.report import embedding_fourier_norms


def fourier_basis(p: int) -> tuple[np.ndarray, list[list[int]]]:
    """Orthonormal rows: the constant, then cos and sin of each frequency k = 1..p // 2 (the
    sine of k = p / 2 vanishes for even p and is left out); and each frequency's rows."""
    x = np.arange(p)
    rows, owners = [np.ones(p)], [[0]]
    for k in range(1, p // 2 + 1):
        owners.append([len(rows)])
        rows.append(np.cos(2 * np.pi * k * x / p))
        if 2 * k != p:
            owners[-1].append(len(rows))
            rows.append(np.sin(2 * np.pi * k * x / p))
    basis = np.stack(rows)
    return basis / np.linalg.norm(basis, axis=1, keepdims=True), owners


@pytest.mark.parametrize("p", [7, 8, 13])
def test_norms_equal_projections_on_an_orthonormal_cos_sin_basis(p):
    w = np.random.default_rng(p).normal(size=(p, 5))
    basis, owners = fourier_basis(p)
    assert np.allclose(basis @ basis.T, np.eye(p))  # the test's basis is a basis
    coeffs = basis @ w  # [p, D]
    expected = [np.linalg.norm(coeffs[rows]) for rows in owners]
    np.testing.assert_allclose(embedding_fourier_norms(w), expected, rtol=1e-12)


def test_an_embedding_at_one_frequency_has_norm_there_only():
    p, k = 11, 4
    x = np.arange(p)
    w = np.stack([3 * np.cos(2 * np.pi * k * x / p + 0.3), np.sin(2 * np.pi * k * x / p)], 1)
    norms = embedding_fourier_norms(w)
    assert norms.shape == (p // 2 + 1,)
    assert norms.argmax() == k and np.allclose(np.delete(norms, k), 0, atol=1e-12)
    assert norms[k] == pytest.approx(np.linalg.norm(w))  # Parseval: nothing lost


def test_a_bad_embedding_shape_is_one_line():
    with pytest.raises(GroklabError, match=r"shape \(5,\) given; allowed: \[p >= 2, D\]"):
        embedding_fourier_norms(np.ones(5))
