import numpy as np
import pytest
import torch

from groklab.measures import MEASURES
from groklab.measures.spectral import (
    as_matrix,
    effective_rank,
    effective_rank2,
    participation_ratio,
    stable_rank,
    weight_matrices,
)
from groklab.models.build import build_model
from groklab.spec import ModelSpec


def plain_ranks(w: np.ndarray) -> dict[str, float]:
    """The four ranks of one matrix, written out from numpy's SVD."""
    s = np.linalg.svd(w, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return {
        "eff_rank": float(np.exp(-(p * np.log(p)).sum())),
        "eff_rank2": float(s.sum() ** 2 / (s**2).sum()),
        "stable_rank": float(np.linalg.norm(w, "fro") ** 2 / np.linalg.norm(w, 2) ** 2),
        "participation_ratio": float(np.trace(w.T @ w) ** 2 / np.trace(w.T @ w @ w.T @ w)),
    }


def with_singular_values(s: list[float], shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """A random matrix of `shape` whose singular values are `s` (padded with zeros)."""
    g = torch.Generator().manual_seed(seed)
    m, n = shape
    u, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    k = len(s)
    return u[:, :k] @ torch.diag(torch.tensor(s, dtype=torch.float64)) @ v[:, :k].T


def tiny_transformer():
    spec = ModelSpec(d_model=16, n_heads=4, d_mlp=24, n_layers=1)
    return build_model(spec, d_vocab=13, n_ctx=4, d_out=11, generator=torch.Generator())


def test_rank_k_matrix_with_equal_singular_values_has_every_rank_k():
    w = with_singular_values([2.0, 2.0, 2.0], (20, 12))  # rank 3
    s = torch.linalg.svdvals(w)
    for rank in (effective_rank, effective_rank2, stable_rank, participation_ratio):
        assert float(rank(s)) == pytest.approx(3.0, rel=1e-9)


def test_planted_spectrum_gives_the_ranks_computed_by_hand():
    s = torch.linalg.svdvals(with_singular_values([4.0, 2.0, 1.0, 1.0], (30, 10)))
    p = np.array([4, 2, 1, 1]) / 8
    assert float(effective_rank(s)) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert float(effective_rank2(s)) == pytest.approx(64 / 22)
    assert float(stable_rank(s)) == pytest.approx(22 / 16)
    assert float(participation_ratio(s)) == pytest.approx(22**2 / (256 + 16 + 1 + 1))


def test_zero_matrix_has_rank_zero_not_nan():
    s = torch.zeros(5, dtype=torch.float64)
    for rank in (effective_rank, effective_rank2, stable_rank, participation_ratio):
        assert float(rank(s)) == 0.0


def test_ranks_of_stacked_members_equal_each_member_alone():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(3, 9, 7, generator=g, dtype=torch.float64)  # [M, 9, 7]
    s = torch.linalg.svdvals(w)  # [M, 7]
    for rank in (effective_rank, effective_rank2, stable_rank, participation_ratio):
        alone = torch.stack([rank(torch.linalg.svdvals(w[m])) for m in range(3)])
        torch.testing.assert_close(rank(s), alone)


def test_attention_weights_are_measured_as_the_whole_layers_map():
    model = tiny_transformer()
    attn = model.blocks[0].attn
    x = torch.randn(5, 16)
    q = as_matrix("blocks.0.attn.W_Q", attn.W_Q.detach())  # [D, H dh]
    heads = torch.cat([x @ attn.W_Q[h] for h in range(4)], 1)  # heads side by side
    torch.testing.assert_close(x @ q, heads.detach())
    z = torch.randn(5, 16)  # [B, H dh]: the heads' outputs side by side
    o = as_matrix("blocks.0.attn.W_O", attn.W_O.detach())  # [H dh, D]
    per_head = sum(z[:, 4 * h : 4 * h + 4] @ attn.W_O[h] for h in range(4))
    torch.testing.assert_close(z @ o, per_head.detach())
    names = set(weight_matrices(model))
    assert {"W_E", "W_U", "blocks.0.attn.W_Q", "blocks.0.mlp.W_in"} <= names
    assert not any(n.startswith("blocks.0.ln") or ".b_" in n for n in names)


@pytest.mark.parametrize("arch", ["transformer", "mlp"])
def test_measures_equal_a_plain_numpy_computation_per_matrix(arch):
    if arch == "transformer":
        model = tiny_transformer()
    else:
        spec = ModelSpec(arch="mlp", n_layers=2, d_model=8, d_mlp=24, mlp_bias=True)
        model = build_model(spec, d_vocab=13, n_ctx=4, d_out=11, generator=torch.Generator())
    got = {}
    for name in ("eff_rank", "stable_rank", "participation_ratio"):
        got.update(MEASURES[name].fn(model, None))
    matrices = weight_matrices(model)
    assert len(got) == 4 * len(matrices)
    for name, w in matrices.items():
        for prefix, value in plain_ranks(w.numpy()).items():
            assert got[f"{prefix}/{name}"] == pytest.approx(value, rel=1e-9), (prefix, name)
