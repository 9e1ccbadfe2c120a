"""Tests for src/groklab/analysis/embeddings.py: projections of class vectors and rings."""

import numpy as np
import pytest
import torch

from groklab.analysis.embeddings import (
    pca_projection,
    ring_frequency,
    tsne_projection,
    unembedding_vectors,
)
from groklab.models import build_model
from groklab.spec import ModelSpec


def circle_in_10d(n: int = 23, k: int = 1, seed: int = 0) -> np.ndarray:
    """Class c at angle 2 pi k c / n on a circle, rotated into 10-D: [n, 10]."""
    angle = 2 * np.pi * k * np.arange(n) / n
    plane = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # [n, 2]
    basis, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(10, 2)))  # [10, 2]
    return plane @ basis.T + 5.0  # an offset: PCA centers


def test_top_two_components_of_a_circle_explain_all_its_variance():
    coords, ratio = pca_projection(circle_in_10d(), 4)
    assert coords.shape == (23, 4) and ratio.shape == (4,)
    np.testing.assert_allclose(ratio[:2].sum(), 1.0, atol=1e-9)
    np.testing.assert_allclose(ratio[:2], [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(coords[:, :2], axis=1), 1.0, atol=1e-9)


def test_explained_variance_of_random_vectors_sums_to_at_most_one_and_is_sorted():
    vectors = np.random.default_rng(1).normal(size=(30, 8))
    _, ratio = pca_projection(vectors, 6)
    assert ratio.sum() <= 1 + 1e-12 and np.all(np.diff(ratio) <= 1e-12)
    _, every = pca_projection(vectors, 8)
    np.testing.assert_allclose(every.sum(), 1.0, atol=1e-9)


def test_pca_caps_components_at_the_smaller_side_of_the_matrix():
    coords, ratio = pca_projection(np.random.default_rng(2).normal(size=(5, 3)), 6)
    assert coords.shape == (5, 3) and ratio.shape == (3,)


def test_tsne_gives_one_2d_point_per_class_and_is_deterministic_for_a_seed():
    vectors = circle_in_10d(11)
    points = tsne_projection(vectors, seed=3)
    assert points.shape == (11, 2) and np.isfinite(points).all()
    np.testing.assert_array_equal(points, tsne_projection(vectors, seed=3))


def test_ring_frequency_finds_the_step_of_a_ring_ordered_by_k_times_c():
    coords, _ = pca_projection(circle_in_10d(7, k=3), 2)
    k, share = ring_frequency(coords)
    assert k == 3 and share == pytest.approx(1.0)
    k, share = ring_frequency(coords[:, ::-1])  # mirrored: the same ring walked backwards
    assert k == 3 and share == pytest.approx(1.0)


def test_ring_share_of_random_points_is_far_from_one():
    _, share = ring_frequency(np.random.default_rng(4).normal(size=(47, 2)))
    assert share < 0.3


def test_projections_reject_a_vector_not_a_matrix():
    with pytest.raises(ValueError, match=r"expected \[V, D\]"):
        pca_projection(np.zeros(5))
    with pytest.raises(ValueError, match=r"expected \[V, 2\]"):
        ring_frequency(np.zeros((5, 3)))


@pytest.mark.parametrize("arch", ["transformer", "mlp"])
def test_unembedding_vectors_have_one_row_per_class(arch):
    spec = ModelSpec(arch=arch, n_layers=1, d_model=8, n_heads=2, d_mlp=16)
    model = build_model(
        spec, d_vocab=9, n_ctx=4, d_out=7, generator=torch.Generator().manual_seed(0)
    )
    vectors = unembedding_vectors(model)
    width = 8 if arch == "transformer" else 16
    assert vectors.shape == (7, width) and vectors.dtype == np.float64
    expected = model.W_U.T if arch == "transformer" else model.layers[-1].weight
    np.testing.assert_allclose(vectors, expected.detach().double().numpy())
