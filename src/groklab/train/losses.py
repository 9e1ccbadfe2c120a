"""Per-example losses and correctness for every member at once.

`ce` is cross-entropy on class logits (Power et al. 2022). `mse` is the mean squared error
against a target row: the regression target itself, a class's template row when the data set
has templates (Omnigrok's toy addition), or the one-hot row of the class (Omnigrok's MNIST).
`bce` is binary cross-entropy on one logit (Omnigrok's IMDb). `stablemax` is cross-entropy
through StableMax (Prieto et al. 2025), computed in float64 as the authors' code does:
s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, StableMax(z)_i = s(z_i) / sum_j s(z_j),
loss -log StableMax(z)_y. s grows linearly, not exponentially, so a large correct logit does not
round the loss (and its gradient) to exactly 0 as float32 softmax does ("softmax collapse").
A regression example counts as correct when its MSE is below `REGRESSION_TOLERANCE` (Omnigrok
Fig. 2); a template example when its nearest template is its class's.

Example:
    >>> out = torch.tensor([[[2.0, 0.0]]])          # [M=1, B=1, V=2]
    >>> example_loss("mse", out, torch.tensor([[0]]))  # ((2-1)^2 + (0-0)^2) / 2
    tensor([[0.5000]])
    >>> example_loss("stablemax", out, torch.tensor([[0]]))  # -log(3 / (3 + 1))
    tensor([[0.2877]], dtype=torch.float64)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

REGRESSION_TOLERANCE = 1e-3


def _target_rows(out: Tensor, targets: Tensor, templates: Tensor | None) -> Tensor:
    if targets.is_floating_point():
        return targets.to(out.dtype)  # [M, B, K]
    if templates is not None:
        return templates.to(out.dtype)[targets]  # [M, B, K]
    return F.one_hot(targets, out.shape[-1]).to(out.dtype)


def stablemax_s(x: Tensor) -> Tensor:
    """s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0: positive, increasing, linear for x >= 0."""
    return torch.where(x >= 0, x + 1, 1 / (1 - x.clamp(max=0)))  # clamp: no inf in the other side


def stablemax_cross_entropy(out: Tensor, targets: Tensor) -> Tensor:
    """out [M, B, V] logits, targets [M, B] classes -> -log StableMax(out)_y [M, B] float64."""
    s = stablemax_s(out.double())  # [M, B, V]
    log_probs = (s / s.sum(-1, keepdim=True)).log()  # the authors' order of operations
    return -log_probs.gather(-1, targets[..., None]).squeeze(-1)


def example_loss(
    loss: str, out: Tensor, targets: Tensor, templates: Tensor | None = None, *, dtype=None
) -> Tensor:
    """out [M, B, V], targets [M, B] classes or [M, B, K] rows -> loss per example [M, B]."""
    out = out if dtype is None else out.to(dtype)
    if loss == "ce":
        m, b, v = out.shape
        flat = F.cross_entropy(out.reshape(m * b, v), targets.reshape(m * b), reduction="none")
        return flat.view(m, b)
    if loss == "stablemax":
        return stablemax_cross_entropy(out, targets)
    if loss == "mse":
        return (out - _target_rows(out, targets, templates)).pow(2).mean(-1)
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(
            out[..., 0], targets.to(out.dtype), reduction="none"
        )
    raise ValueError(f"loss={loss!r}")


def example_correct(
    loss: str, out: Tensor, targets: Tensor, templates: Tensor | None = None
) -> Tensor:
    """[M, B] bool: the prediction counts as right."""
    if targets.is_floating_point():
        return (out - targets.to(out.dtype)).pow(2).mean(-1) < REGRESSION_TOLERANCE
    if loss == "bce":
        return (out[..., 0] > 0) == targets.bool()
    if loss == "mse" and templates is not None:
        distance = torch.cdist(out, templates.to(out.dtype).expand(out.shape[0], -1, -1))
        return distance.argmin(-1) == targets
    return out.argmax(-1) == targets
