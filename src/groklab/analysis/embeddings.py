"""Embedding geometry: the unembedding vectors of a model, projected to 2-D (Power et al. 2022,
Fig. 3), and how ring-like a projection of a cyclic group's classes is.

Vectors are numpy arrays [V, D], one row per class (answer token), as `unembedding_vectors`
returns them. A model that has grokked x + y (mod p) represents class c by cosines and sines of
2 pi k c / p for a few frequencies k (Nanda et al. 2023), so some pair of principal components
puts the classes on a circle, ordered by k * c (mod p).

    vectors = unembedding_vectors(model)             # [V, D]
    coords, ratio = pca_projection(vectors, 2)       # [V, 2], [2]
    k, share = ring_frequency(coords)                # e.g. (9, 0.998): a clean ring
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def unembedding_vectors(model: nn.Module) -> np.ndarray:
    """The output-layer vector of each class, [V, D], as float64.

    Transformers keep `W_U` as [D, V] (TransformerLens), so its columns are the classes; an
    MLP's last `nn.Linear` keeps its weight as [V, d_mlp], so its rows are.
    """
    if isinstance(getattr(model, "W_U", None), torch.Tensor):
        weight = model.W_U.T  # [V, D]
    elif isinstance(getattr(model, "layers", None), nn.ModuleList):
        weight = model.layers[-1].weight  # [V, d_mlp]
    else:
        raise ValueError(f"{type(model).__name__} has neither W_U nor an MLP's final layer")
    return weight.detach().cpu().double().numpy()


def _check_vectors(vectors: np.ndarray, min_rows: int) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] < min_rows:
        raise ValueError(f"vectors has shape {vectors.shape}; expected [V, D] with V >= {min_rows}")
    return vectors


def pca_projection(vectors: np.ndarray, n_components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the (centered) rows: coordinates [V, k] and the share of the
    total variance each component explains, [k] (sums to at most 1).

    `n_components` is capped at min(V, D). Example: points on a circle in 2-D embedded in 10-D
    give ratios [0.5, 0.5] (the top 2 explain all of it).
    """
    from sklearn.decomposition import PCA

    vectors = _check_vectors(vectors, 2)
    k = min(n_components, *vectors.shape)
    pca = PCA(n_components=k, svd_solver="full").fit(vectors)
    return pca.transform(vectors), pca.explained_variance_ratio_.astype(np.float64)


def tsne_projection(
    vectors: np.ndarray, *, seed: int = 0, perplexity: float | None = None
) -> np.ndarray:
    """t-SNE of the rows into 2-D, [V, 2]; deterministic for a given `seed`.

    The default perplexity is min(30, (V - 1) / 3), so a few dozen classes (p = 23) still
    have enough neighbours (scikit-learn needs perplexity < V).
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    vectors = _check_vectors(vectors, 4)
    if perplexity is None:
        perplexity = min(30.0, (vectors.shape[0] - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    # One thread: for a few hundred points OpenMP threads only contend; on a busy 2-core
    # machine they made t-SNE of 7 points take 10 s instead of 0.2 s.
    with threadpool_limits(limits=1):
        return tsne.fit_transform(vectors).astype(np.float64)


def ring_frequency(points: np.ndarray) -> tuple[int, float]:
    """How ring-like 2-D points [V, 2] of the classes 0..V-1 of a cyclic group are.

    Read point c as the complex number z_c (centered) and take its discrete Fourier transform
    over c: a perfect ring ordered by k * c (mod V) puts all the power in frequency k (or
    V - k, the same ring walked the other way). Returns that frequency, as the smaller of
    k and V - k, and its share of the power (1 for a perfect ring; about 1 / V for noise).

    Example: points (cos 2 pi 3c / 7, sin 2 pi 3c / 7) for c = 0..6 -> (3, 1.0).
    """
    points = _check_vectors(points, 2)
    if points.shape[1] != 2:
        raise ValueError(f"points has shape {points.shape}; expected [V, 2]")
    z = points[:, 0] + 1j * points[:, 1]
    power = np.abs(np.fft.fft(z - z.mean())) ** 2  # [V]; index 0 is ~0 after centering
    total = power.sum()
    if total == 0:
        return 0, 0.0
    k = int(power.argmax())
    return min(k, points.shape[0] - k), float(power[k] / total)
