"""Representation quality index (Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022,
"Towards understanding grokking", Sec. 3).

A representation E [p, d] of the symbols 0..p-1 is good for addition when it is made of
parallelograms: E_i + E_n = E_j + E_m whenever i + n = j + m. The ideal parallelograms are the
quadruples i < j <= m < n with i + n = j + m (j = m included: E_i + E_n = 2 E_j). RQI is the
fraction of them the representation satisfies, after standardizing each coordinate over the p
symbols (mean 0, unbiased standard deviation 1), within a tolerance on the mean over
coordinates of the squared residual, as the authors' code:

    RQI = |{(i, n, j, m) : mean_k (Ê_ik + Ê_nk - Ê_jk - Ê_mk)^2 < tolerance}| / |ideal|

A linear representation E_i = a i + b has RQI 1; random points have RQI near 0. A constant
coordinate has no standard deviation: its standardized values are nan and nothing counts.

In groklab's `toy_add` the representation is fixed by the data (groklab.data.toy: the noisy
line mixed with random points by `messiness`), so a run's RQI is that of its data and constant
over training; it is the RQI of the representation the decoder reads. Its structured part is
a line in the first coordinate (RQI 1 alone) and noise U(-0.3, 0.3) in the second, which
standardizing scales up like any coordinate: at messiness 0 the 2-D RQI is 0.09 (p = 10,
data seed 0), at 0.2 it is 0.

Example, p = 4: the ideal parallelograms are (0, 2, 1, 1), (0, 3, 1, 2), (1, 3, 2, 2).

    >>> ideal_parallelograms(4).tolist()
    [[0, 2, 1, 1], [0, 3, 1, 2], [1, 3, 2, 2]]
    >>> float(rqi(torch.arange(4.0)[:, None]))
    1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask
    from groklab.spec import RunSpec

TOLERANCE = 0.01  # the authors' threshold on the mean squared residual


def ideal_parallelograms(p: int) -> Tensor:
    """[K, 4] int64: every (i, n, j, m) with i < j <= m < n and i + n = j + m, sorted."""
    rows = [
        (i, n, j, m)
        for i in range(p)
        for j in range(i + 1, p)
        for m in range(j, p)
        for n in range(m + 1, p)
        if i + n == j + m
    ]
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 4)


def standardize(embedding: Tensor) -> Tensor:
    """[..., p, d] -> each coordinate with mean 0 and unbiased standard deviation 1 over p."""
    centred = embedding - embedding.mean(-2, keepdim=True)
    return centred / embedding.std(-2, keepdim=True)


def rqi(embedding: Tensor, *, tolerance: float = TOLERANCE) -> Tensor:
    """embedding [..., p, d] -> [...] float64: the fraction of ideal parallelograms satisfied."""
    e = standardize(embedding.double())
    quads = ideal_parallelograms(e.shape[-2])  # [K, 4]
    residual = e[..., quads[:, 0], :] + e[..., quads[:, 1], :]
    residual = residual - e[..., quads[:, 2], :] - e[..., quads[:, 3], :]  # [..., K, d]
    satisfied = residual.pow(2).mean(-1) < tolerance  # [..., K]  nan compares False
    return satisfied.double().mean(-1)


def toy_representation(spec: RunSpec) -> Tensor:
    """[p, 2]: the fixed representation a `toy_add` run's decoder reads."""
    from groklab.data.toy import toy_embedding, toy_representations

    structured, random, _ = toy_representations(spec.data.p, spec.data.data_seed)
    return toy_embedding(structured, random, spec.data.messiness)


def applies_to(spec: RunSpec) -> bool:
    return spec.data.dataset == "toy_add" or spec.model.arch == "toy"


def rqi_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """The RQI of the representation the decoder reads: the fixed one of a `toy_add` run (data,
    not weights), or the learned `representation` of Liu et al.'s toy (arch "toy")."""
    learned = getattr(model, "representation", None)
    if learned is not None:
        return {"rqi": float(rqi(learned.detach()))}
    return {"rqi": float(rqi(toy_representation(task.spec)))}
