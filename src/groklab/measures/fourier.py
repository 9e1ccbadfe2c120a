"""Nanda et al. 2023's progress measures: the Fourier view of a model trained on a table mod p.

A model that groks x + y mod p embeds each value x as cos(w_k x), sin(w_k x) for a few key
frequencies w_k = 2 pi k / p, multiplies them in its MLP into cos(w_k (x + y)) and reads the
answer from those directions (Nanda et al. 2023, Sec. 4-5). The measures here watch that
circuit form:

- `fourier_basis(p)`: the orthonormal basis of functions on Z_p: the constant, then cos k and
  sin k for k = 1..p // 2 (for even p the last frequency has its cosine only);
- `frequency_norms(w)`: the norm of a weight matrix's rows along each frequency (the
  embedding's "Fourier norms", Fig. 3 left);
- `neuron_frequency_fractions` and `key_frequencies`: each MLP neuron's activation over all
  p^2 inputs as a 2-D Fourier series; the share of its centred variance in frequency k's
  {1, cos k, sin k} x {1, cos k, sin k} block; a key frequency is the best one of enough
  neurons that it explains well (Sec. 4.2);
- `restricted_logits` / `excluded_logits`: the logits kept only along (or with removed) the
  key frequencies' directions cos(w_k (x + y)), sin(w_k (x + y)) over the p^2 inputs;
  restricted adds back the mean logit of each class (Sec. 5.1);
- `gini`: the Gini coefficient, here of the frequency norms of W_E and of W_L = W_out W_U
  (sparsity rises in cleanup, Sec. 5.2); `sum_sq_weights`: the total sum of squared weights.

These read Z_p's additive basis, the right one for x + y and x - y. A model of x * y or x / y
(p prime) is read in the multiplicative group's basis instead (`embed_fourier_mul_measure`,
measures/groups.py): its nonzero residues ordered by discrete logarithm. A model of an S5
operation is read in S5's irreducible representations (measures/s5_irreps.py).

Example, an embedding that is one pure frequency has all its norm at that frequency:

    >>> basis = fourier_basis(7)                       # [7, 7] rows: 1, cos 1, sin 1, cos 2, ...
    >>> w = torch.stack([basis[3], basis[4]], dim=1)   # [7, 2]: cos 2 and sin 2 of x
    >>> frequency_norms(w).round(decimals=4)           # [4]: k = 0 (constant), 1, 2, 3
    tensor([0.0000, 0.0000, 1.4142, 0.0000], dtype=torch.float64)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from groklab.measures.groups import group_of

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask

# A neuron's best frequency counts towards the key set when it explains at least this share of
# the neuron's centred variance (Nanda et al. report most neurons above 85 % once grokked), and
# a frequency is key when at least KEY_NEURONS of the neurons (and at least one) choose it.
KEY_EXPLAINED = 0.5
KEY_NEURONS = 0.01


def fourier_basis(p: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """[p, p] orthonormal rows: const, cos(2 pi k x / p), sin(2 pi k x / p) for k = 1..p//2
    (for even p, frequency p/2 has only its cosine, as its sine is 0 on Z_p)."""
    x = torch.arange(p, dtype=torch.float64)
    rows = [torch.ones(p, dtype=torch.float64)]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        if 2 * k != p:
            rows.append(torch.sin(2 * math.pi * k * x / p))
    basis = torch.stack(rows)
    return (basis / basis.norm(dim=1, keepdim=True)).to(dtype)


def basis_frequencies(p: int) -> Tensor:
    """[p] int64: the frequency k of each row of `fourier_basis(p)` (0 for the constant)."""
    ks = [0]
    for k in range(1, p // 2 + 1):
        ks.extend([k] if 2 * k == p else [k, k])
    return torch.tensor(ks)


def frequency_norms(w: Tensor) -> Tensor:
    """w [..., p, D] (rows indexed by the value x) -> [..., p//2 + 1]: the norm of w along each
    frequency k = 0 (constant), 1, ..., p//2, i.e. sqrt(|cos_k . w|^2 + |sin_k . w|^2)."""
    p = w.shape[-2]
    coeff = fourier_basis(p, w.dtype).to(w.device) @ w  # [..., p, D]
    power = coeff.pow(2).sum(-1)  # [..., p]
    k = basis_frequencies(p).to(w.device)
    out = torch.zeros(*power.shape[:-1], p // 2 + 1, dtype=w.dtype, device=w.device)
    return out.index_add_(-1, k, power).sqrt()


def gini(x: Tensor) -> Tensor:
    """[..., n] non-negative -> [...]: sum_ij |x_i - x_j| / (2 n^2 mean(x)); 0 when all are
    equal, (n - 1) / n when one alone is non-zero."""
    n = x.shape[-1]
    diffs = (x[..., :, None] - x[..., None, :]).abs().sum((-2, -1))
    return diffs / (2 * n * x.sum(-1))


def neuron_frequency_fractions(acts: Tensor) -> Tensor:
    """acts [p, p, H] (neuron activations at inputs (x, y)) -> [H, p//2]: the share of each
    neuron's centred variance in frequency k's 2-D block {const, cos k, sin k}^2, k = 1..p//2.

    The blocks of different k overlap only in the (const, const) term, which centring zeroes.
    """
    p = acts.shape[0]
    basis = fourier_basis(p, acts.dtype).to(acts.device)
    centred = acts - acts.mean((0, 1), keepdim=True)
    coeff = torch.einsum("ax,by,xyh->hab", basis, basis, centred)  # [H, p, p]
    power = coeff.pow(2)
    total = power.sum((-2, -1))  # [H]
    k = basis_frequencies(p).to(acts.device)
    fractions = []
    for freq in range(1, p // 2 + 1):
        rows = (k == 0) | (k == freq)  # the block: const, cos k, sin k on each axis
        fractions.append(power[:, rows][:, :, rows].sum((-2, -1)))
    return torch.stack(fractions, -1) / total.clamp_min(torch.finfo(acts.dtype).tiny)[:, None]


def key_frequencies(
    fractions: Tensor, *, explained: float = KEY_EXPLAINED, min_share: float = KEY_NEURONS
) -> list[int]:
    """fractions [H, K] (from `neuron_frequency_fractions`) -> the key frequencies, sorted:
    each is the best frequency of at least max(1, min_share * H) neurons that it explains at
    least `explained` of."""
    counts = neuron_frequency_counts(fractions, explained=explained)
    need = max(1, math.ceil(min_share * fractions.shape[0]))
    return [k + 1 for k in range(counts.shape[0]) if counts[k] >= need]


def neuron_frequency_counts(fractions: Tensor, *, explained: float = KEY_EXPLAINED) -> Tensor:
    """[H, K] -> [K] int64: how many neurons have frequency k + 1 as their best one and
    explain at least `explained` of their variance with it."""
    best, share = fractions.argmax(-1), fractions.max(-1).values
    well = best[share >= explained]
    return torch.bincount(well, minlength=fractions.shape[1])


def sum_directions(x: Tensor, y: Tensor, p: int, keys: list[int]) -> Tensor:
    """[2 len(keys), N] unit rows cos(w_k (x + y)), sin(w_k (x + y)) over the N examples."""
    s = (x + y).to(torch.float64)
    rows = []
    for k in keys:
        rows += [torch.cos(2 * math.pi * k * s / p), torch.sin(2 * math.pi * k * s / p)]
    if not rows:
        return torch.zeros(0, x.shape[0], dtype=torch.float64)
    d = torch.stack(rows)
    return d / d.norm(dim=1, keepdim=True)


def restricted_logits(logits: Tensor, directions: Tensor) -> Tensor:
    """logits [N, V] over every (x, y) -> the part along `directions` [R, N] (each class's
    column projected) plus each class's mean logit (Nanda et al.'s bias correction)."""
    kept = directions.T @ (directions @ logits)  # [N, V]
    return kept + (logits - kept).mean(0, keepdim=True)


def excluded_logits(logits: Tensor, directions: Tensor) -> Tensor:
    """logits [N, V] -> logits with their components along `directions` [R, N] removed."""
    return logits - directions.T @ (directions @ logits)


def cross_entropy(logits: Tensor, targets: Tensor) -> float:
    """Mean float64 cross-entropy."""
    return float(torch.nn.functional.cross_entropy(logits.double(), targets))


def sum_sq_weights(model: nn.Module) -> float:
    """The total sum of squared weights of every parameter (Nanda et al.'s weight norm)."""
    return float(sum(p.detach().double().pow(2).sum() for p in model.parameters()))


# -- the registered measures: fn(model, task) -> {name: value} --------------------------------


def _operands(task: MemberTask) -> tuple[Tensor, Tensor]:
    """x and y of every example: positions 0 and -2 in both layouts (`x op y =`, `x y =`)."""
    return task.inputs[:, 0], task.inputs[:, -2]


def _p(task: MemberTask) -> int:
    return int(task.spec.data.p)


@torch.no_grad()
def mlp_activations(model: nn.Module, task: MemberTask) -> tuple[Tensor, Tensor]:
    """The first block's MLP activations at the answer position for every example, [N, H]
    float64, and the model's logits [N, V] float64 (one forward pass)."""
    mlp = model.blocks[0].mlp
    seen: list[Tensor] = []
    handle = mlp.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    try:
        logits = model(task.inputs)
    finally:
        handle.remove()
    x = seen[0] if seen[0].dim() == 2 else seen[0][:, -1]  # [N, D] at the answer position
    pre = x @ mlp.W_in + (mlp.b_in if mlp.has_bias else 0)
    return mlp.act(pre).double(), logits.double()


def value_grid(values: Tensor, task: MemberTask) -> Tensor:
    """[N, H] over every (x, y) -> [p, p, H] indexed by (x, y)."""
    p = _p(task)
    x, y = _operands(task)
    grid = torch.zeros(p, p, values.shape[-1], dtype=values.dtype)
    grid[x, y] = values
    return grid


def embed_fourier_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`fourier/embed/k`: the norm of W_E's value rows along frequency k = 0..p//2."""
    norms = frequency_norms(model.W_E.detach().double()[: _p(task)])
    return {f"fourier/embed/{k}": float(v) for k, v in enumerate(norms)}


def gini_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`gini/W_E`, `gini/W_L`: Gini of the frequency norms (k >= 1) of W_E and of W_L =
    W_out W_U (Fourier over the answer axis), `sum_sq_weights` beside them."""
    p = _p(task)
    w_e = model.W_E.detach().double()[:p]  # [p, D]
    w_l = (model.blocks[-1].mlp.W_out @ model.W_U).detach().double()  # [H, p]
    return {
        "gini/W_E": float(gini(frequency_norms(w_e)[1:])),
        "gini/W_L": float(gini(frequency_norms(w_l.T)[1:])),
        "sum_sq_weights": sum_sq_weights(model),
    }


def embed_fourier_mul_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """x * y, x / y (p prime): the same view in the multiplicative group's basis
    (measures/groups.py): W_E's rows of the nonzero values ordered by discrete log,
    `fourier_mul/embed/k` the norm along frequency k = 0..(p - 1) // 2 of Z_(p-1);
    `gini_mul/W_E` and `gini_mul/W_L` (W_out W_U over the nonzero answers, same order), and
    `sum_sq_weights`, which needs no basis."""
    basis = group_of(task.spec.data.op, _p(task))
    rows = torch.tensor(basis.values)
    norms = frequency_norms(model.W_E.detach().double()[rows])  # [(p - 1) // 2 + 1]
    w_l = (model.blocks[-1].mlp.W_out @ model.W_U).detach().double()[:, rows]  # [H, p - 1]
    out = {f"fourier_mul/embed/{k}": float(v) for k, v in enumerate(norms)}
    out["gini_mul/W_E"] = float(gini(norms[1:]))
    out["gini_mul/W_L"] = float(gini(frequency_norms(w_l.T)[1:]))
    out["sum_sq_weights"] = sum_sq_weights(model)
    return out


def key_frequency_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`fourier/neurons/k`: the share of MLP neurons whose best frequency is k and explains at
    least KEY_EXPLAINED of their variance; `fourier/n_key`: how many frequencies are key."""
    acts, _ = mlp_activations(model, task)
    fractions = neuron_frequency_fractions(value_grid(acts, task))
    counts = neuron_frequency_counts(fractions)
    out = {f"fourier/neurons/{k + 1}": float(c) / acts.shape[1] for k, c in enumerate(counts)}
    out["fourier/n_key"] = float(len(key_frequencies(fractions)))
    return out


def restricted_excluded(
    model: nn.Module, task: MemberTask, keys: list[int] | None = None
) -> dict[str, float]:
    """`restricted_loss` (test set) and `excluded_loss` (train set) for the key frequencies
    `keys` (None: the model's own at this step, `key_frequencies`; Nanda et al. use the final
    model's). Needs every (x, y): the directions are orthonormal over the full table."""
    acts, logits = mlp_activations(model, task)
    if keys is None:
        keys = key_frequencies(neuron_frequency_fractions(value_grid(acts, task)))
    x, y = _operands(task)
    train, test = task.train_mask, task.val_mask
    return circuit_losses(logits, x, y, _p(task), keys, train, test, task.targets)


def circuit_losses(
    logits: Tensor,
    x: Tensor,
    y: Tensor,
    p: int,
    keys: list[int],
    train: Tensor,
    test: Tensor,
    targets: Tensor,
) -> dict[str, float]:
    """Nanda et al.'s two losses from the logits [p^2, V] over every (x, y): `restricted_loss`,
    the cross-entropy on the test set of the logits kept only along the key frequencies'
    cos/sin(w_k (x + y)) (plus each class's mean), and `excluded_loss`, that on the train set of
    the logits with all of those directions removed together."""
    directions = sum_directions(x, y, p, keys)
    restricted = restricted_logits(logits, directions)
    excluded = excluded_logits(logits, directions)
    return {
        "restricted_loss": cross_entropy(restricted[test], targets[test]),
        "excluded_loss": cross_entropy(excluded[train], targets[train]),
    }


def restricted_step_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`restricted_loss_step_keys`, `excluded_loss_step_keys`: with this step's own key
    frequencies (not the paper's definition: early steps have no key set at all)."""
    return {f"{name}_step_keys": v for name, v in restricted_excluded(model, task).items()}


def model_key_frequencies(model: nn.Module, task: MemberTask) -> list[int]:
    """The key frequencies of `model`'s MLP neurons over every (x, y)."""
    acts, _ = mlp_activations(model, task)
    return key_frequencies(neuron_frequency_fractions(value_grid(acts, task)))


def restricted_final_measure(
    model: nn.Module, task: MemberTask, final: nn.Module
) -> dict[str, float]:
    """Nanda et al.'s definition: `restricted_loss_final_keys` (test set) and
    `excluded_loss_final_keys` (train set) with the key frequencies of `final`, the same member
    at the last measured step, at every step (a MeasureInfo with final=True)."""
    values = restricted_excluded(model, task, model_key_frequencies(final, task))
    return {f"{name}_final_keys": v for name, v in values.items()}
