"""How many directions a weight matrix uses: ranks read from its singular values.

Each function takes singular values s [..., n] (any leading axes: members, matrices) and
returns [...]; a zero matrix has every rank 0. With p_i = s_i / sum_j s_j:

- `effective_rank`: exp(-sum_i p_i log p_i), the exponential of the Shannon entropy of p
  (Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality");
- `effective_rank2`: (sum_i s_i)^2 / sum_i s_i^2 = 1 / sum_i p_i^2, the exponential of p's
  order-2 Renyi entropy, i.e. ||W||_*^2 / ||W||_F^2 (nuclear over Frobenius norm, squared);
- `stable_rank`: sum_i s_i^2 / max_i s_i^2 = ||W||_F^2 / ||W||_2^2 (Rudelson & Vershynin 2007);
- `participation_ratio`: (sum_i lambda_i)^2 / sum_i lambda_i^2 over the eigenvalues
  lambda_i = s_i^2 of W^T W, i.e. (sum s^2)^2 / sum s^4 (the participation ratio of
  Gao et al. 2017's "theory of multineuronal dimensionality").

All four equal k for a matrix with k equal non-zero singular values and lie in [1, rank W]
(for W != 0); stable rank <= participation ratio, because sum s^4 <= max s^2 sum s^2.

Example, a rank-2 matrix with singular values 3 and 1:

    >>> s = torch.tensor([3.0, 1.0, 0.0], dtype=torch.float64)
    >>> float(stable_rank(s)), float(participation_ratio(s)), float(effective_rank2(s))
    (1.1111111111111112, 1.2195121951219512, 1.6)

`weight_matrices(model)` names the matrices measured: every parameter with two or more axes,
under its parameter name (`W_E`, `blocks.0.attn.W_Q`, `layers.0.weight`), an attention
weight as the map of the whole layer: W_Q, W_K, W_V [H, D, dh] as [D, H dh] and W_O
[H, dh, D] as [H dh, D]. Biases and gains are vectors and are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask


def _shares(s: Tensor) -> Tensor:
    """[..., n] -> p = s / sum s (0 where every s is 0)."""
    total = s.sum(-1, keepdim=True)
    return s / torch.where(total > 0, total, 1.0)


def effective_rank(s: Tensor) -> Tensor:
    """Roy & Vetterli: exp of the Shannon entropy of s / sum s (0 log 0 = 0)."""
    p = _shares(s)
    entropy = -torch.special.xlogy(p, p).sum(-1)
    return torch.where(s.sum(-1) > 0, entropy.exp(), 0.0)


def effective_rank2(s: Tensor) -> Tensor:
    """(sum s)^2 / sum s^2: exp of the order-2 Renyi entropy of s / sum s."""
    return _ratio(s.sum(-1).pow(2), s.pow(2).sum(-1))


def stable_rank(s: Tensor) -> Tensor:
    """sum s^2 / max s^2 = ||W||_F^2 / ||W||_2^2."""
    return _ratio(s.pow(2).sum(-1), s.amax(-1).pow(2))


def participation_ratio(s: Tensor) -> Tensor:
    """(sum lambda)^2 / sum lambda^2 of lambda = s^2, the eigenvalues of W^T W."""
    lam = s.pow(2)
    return _ratio(lam.sum(-1).pow(2), lam.pow(2).sum(-1))


def _ratio(num: Tensor, den: Tensor) -> Tensor:
    return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)


def as_matrix(name: str, w: Tensor) -> Tensor:
    """A parameter as the matrix of the map it makes: attention weights [H, a, b] as the whole
    layer's (W_Q, W_K, W_V -> [a, H b], W_O -> [H a, b]); any other as [shape[0], -1]."""
    leaf = name.rsplit(".", 1)[-1]
    if w.dim() == 3 and leaf in ("W_Q", "W_K", "W_V"):
        return w.permute(1, 0, 2).reshape(w.shape[1], -1)
    if w.dim() == 3 and leaf == "W_O":
        return w.reshape(-1, w.shape[-1])
    return w.reshape(w.shape[0], -1)


def weight_matrices(model: nn.Module) -> dict[str, Tensor]:
    """{parameter name: float64 matrix} of every parameter with at least two axes."""
    return {
        name: as_matrix(name, param.detach().double())
        for name, param in model.named_parameters()
        if param.dim() >= 2
    }


def singular_values(model: nn.Module) -> dict[str, Tensor]:
    """{parameter name: its matrix's singular values, descending, float64}."""
    return {name: torch.linalg.svdvals(w) for name, w in weight_matrices(model).items()}


# -- the registered measures: fn(model, task) -> {name: value} --------------------------------


def _per_matrix(**ranks: Callable[[Tensor], Tensor]):
    def measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
        del task  # weights only
        values = singular_values(model)
        return {
            f"{prefix}/{name}": float(rank(s))
            for prefix, rank in ranks.items()
            for name, s in values.items()
        }

    return measure


effective_rank_measure = _per_matrix(eff_rank=effective_rank, eff_rank2=effective_rank2)
"""`eff_rank/<parameter>` (Roy & Vetterli) and `eff_rank2/<parameter>` ((sum s)^2 / sum s^2)."""
stable_rank_measure = _per_matrix(stable_rank=stable_rank)
"""`stable_rank/<parameter>`: ||W||_F^2 / ||W||_2^2."""
participation_ratio_measure = _per_matrix(participation_ratio=participation_ratio)
"""`participation_ratio/<parameter>`: (sum s^2)^2 / sum s^4."""
