"""Toy addition on a fixed 2-D representation (Liu, Michaud, Tegmark 2023, Omnigrok Sec. 4,
Fig. 6 and 8; the toy model of Liu et al. 2022, "Towards understanding grokking").

Symbols 0..p-1 each have a fixed (not learned) representation E_i in R^2. An example is an
unordered pair i <= j (p (p + 1) / 2 of them; 55 for p = 10, of which Omnigrok trains on 45),
its input the sum E_i + E_j, and its answer (i + j) mod p, as in Omnigrok's code; Liu et al.
2022 use the plain sum i + j. A decoder MLP 2-200-200-30 maps the input to a row that is
compared (MSE) with the answer's random template Y_k ~ N(0, I_30), and an example counts as
correct when its nearest template is its answer's.

The representation interpolates between a structured one and a random one by `messiness` m:

    E_i = (1 - m) * S_i + m * R_i
    S_i = (2 i / (p - 1) - 1,  u_i)      u_i ~ U(-0.3, 0.3)      (a noisy line)
    R_i = (r_i1, r_i2)                   r ~ U(-1, 1)            (random points)

At m = 0 the first coordinate of E_i + E_j is 2 (i + j) / (p - 1) - 2, a function of i + j
alone, so a decoder can generalize to pairs it never saw; at m = 1 the sum is a random point.
u, r and the templates Y are drawn, in that order, from one generator of `data_seed`, so every
messiness uses the same S and R and the same templates.

Example, p = 10, m = 0: the pair (3, 5) has input (2*3/9 - 1 + 2*5/9 - 1, u_3 + u_5)
= (-0.222..., u_3 + u_5) and answer 8; (4, 4) has the same first coordinate and answer.

    >>> ds = make_toy_add(DataSpec(dataset="toy_add", p=10))
    >>> ds.inputs.shape, ds.targets[:3].tolist(), ds.templates.shape
    (torch.Size([55, 2]), [0, 1, 2], torch.Size([10, 30]))
"""

from __future__ import annotations

import torch
from torch import Tensor

from groklab import rng
from groklab.data.datasets import Dataset
from groklab.spec import DataSpec

D_REPR = 2  # the representation's dimension
D_TEMPLATE = 30  # the decoder's output: a template row per answer
LINE_NOISE = 0.3  # half-width of the structured representation's second coordinate


def toy_pairs(p: int) -> Tensor:
    """[p (p + 1) / 2, 2] int64: every pair (i, j) with 0 <= i <= j < p, sorted by (i, j)."""
    i, j = torch.triu_indices(p, p)
    return torch.stack([i, j], dim=1)


def toy_representations(p: int, data_seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """(structured S [p, 2], random R [p, 2], templates Y [p, 30]), all from `data_seed`."""
    gen = rng.generator(data_seed, rng.TEACHER)
    line = torch.linspace(-1.0, 1.0, p)
    noise = (torch.rand(p, generator=gen) * 2 - 1) * LINE_NOISE
    structured = torch.stack([line, noise], dim=1)
    random = torch.rand(p, D_REPR, generator=gen) * 2 - 1
    templates = torch.randn(p, D_TEMPLATE, generator=gen)
    return structured, random, templates


def toy_embedding(structured: Tensor, random: Tensor, messiness: float) -> Tensor:
    """[p, 2] E = (1 - messiness) * S + messiness * R."""
    return (1.0 - messiness) * structured + messiness * random


def make_toy_add(data: DataSpec) -> Dataset:
    """Inputs E_i + E_j [N, 2] float32, targets (i + j) mod p [N] int64, templates [p, 30]."""
    p = data.p
    pairs = toy_pairs(p)  # [N, 2]
    structured, random, templates = toy_representations(p, data.data_seed)
    embedding = toy_embedding(structured, random, data.messiness)  # [p, 2]
    inputs = embedding[pairs[:, 0]] + embedding[pairs[:, 1]]  # [N, 2]
    targets = pairs.sum(1) % p  # [N]
    notes = (
        f"toy addition: (i + j) mod {p} over {len(pairs)} pairs i <= j, fixed 2-D "
        f"representation of messiness {data.messiness:g}, templates in R^{D_TEMPLATE}"
    )
    return Dataset(inputs.float(), targets, d_out=D_TEMPLATE, templates=templates, notes=notes)


def make_toy_add_symbols(data: DataSpec) -> Dataset:
    """Liu et al. 2022's toy for a model that learns the representation (`models/toy.py`):
    inputs are the pair's symbols (i, j) [N, 2] int64 below p, the answer is the plain sum
    i + j (2p - 1 classes, as the paper; a 1-D representation can then be a line), each class
    a random template row [2p - 1, 30] (MSE; correct = nearest template).

    Example, p = 10: 55 pairs and 19 classes; (3, 5) has answer 8, as (4, 4) does."""
    p = data.p
    pairs = toy_pairs(p)  # [N, 2]
    gen = rng.generator(data.data_seed, rng.TEACHER)
    templates = torch.randn(2 * p - 1, D_TEMPLATE, generator=gen)
    notes = (
        f"toy addition: i + j over {len(pairs)} pairs i <= j < {p}, a learned representation "
        f"of the {p} symbols, {2 * p - 1} templates in R^{D_TEMPLATE}"
    )
    return Dataset(
        pairs, pairs.sum(1), d_out=D_TEMPLATE, d_vocab=p, templates=templates, notes=notes
    )
