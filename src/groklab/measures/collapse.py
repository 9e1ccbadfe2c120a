"""Softmax collapse (Prieto et al. 2025, "Grokking at the edge of numerical stability").

When the correct logit outgrows the others, float32 softmax rounds to exactly 1 at the correct
class and the cross-entropy to exactly 0: those examples stop giving any gradient. The
fraction of training examples in that state rises towards 1 in a run that collapses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask


def softmax_collapse_fraction(
    logits: Tensor, targets: Tensor, mask: Tensor | None = None
) -> Tensor:
    """logits [..., N, V], targets [..., N] -> [...]: the fraction of (masked) examples whose
    float32 softmax at the target class is exactly 1."""
    probs = torch.softmax(logits.float(), dim=-1)
    at_target = probs.gather(-1, targets[..., None]).squeeze(-1)
    return _fraction(at_target == 1.0, mask)


def zero_loss_fraction(logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
    """logits [..., N, V], targets [..., N] -> [...]: the fraction of (masked) examples whose
    float32 cross-entropy (computed as torch computes it, via log-softmax) is exactly 0."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    loss = -logp.gather(-1, targets[..., None]).squeeze(-1)
    return _fraction(loss == 0.0, mask)


def _fraction(hit: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return hit.double().mean(-1)
    weight = mask.to(torch.float64).expand_as(hit)
    return (hit.double() * weight).sum(-1) / weight.sum(-1)


@torch.no_grad()
def _train_logits(model: nn.Module, task: MemberTask) -> tuple[Tensor, Tensor]:
    inputs = task.inputs[task.train_mask]
    return model(inputs), task.targets[task.train_mask]


def softmax_collapse_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    logits, targets = _train_logits(model, task)
    return {"softmax_collapse": float(softmax_collapse_fraction(logits, targets))}


def zero_loss_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    logits, targets = _train_logits(model, task)
    return {"zero_loss": float(zero_loss_fraction(logits, targets))}
