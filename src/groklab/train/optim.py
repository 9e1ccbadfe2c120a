"""Optimizers over a population's flat [M, P] parameters, with per-member lr and weight decay.

Each is exactly M independent copies of the textbook update (a test checks AdamW against
torch.optim.AdamW member by member). Weight decay pulls toward the origin or toward the
initialization (Power et al. 2022, Fig. 2 center):
- adamw:   theta -= lr * wd * (theta - target); then the Adam step (Loshchilov & Hutter 2019);
- adam_l2: grad += wd * (theta - target) before the moments (Adam + L2);
- adam:    no decay;
- sgd:     grad += wd * (theta - target); momentum buffer; theta -= lr * buf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from groklab.spec import OptimSpec


@dataclass
class OptimState:
    """What the optimizer carries between steps; all of it goes into the checkpoint."""

    step: int
    exp_avg: Tensor  # [M, P] (Adam first moment, or SGD momentum buffer)
    exp_avg_sq: Tensor  # [M, P] (Adam second moment; empty for SGD)

    @classmethod
    def zeros(cls, flat: Tensor, spec: OptimSpec) -> OptimState:
        sq = flat.new_zeros(0) if spec.optimizer == "sgd" else torch.zeros_like(flat)
        return cls(0, torch.zeros_like(flat), sq)

    def to_dict(self) -> dict:
        return {"step": self.step, "exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}

    @classmethod
    def from_dict(cls, d: dict, device: torch.device) -> OptimState:
        return cls(int(d["step"]), d["exp_avg"].to(device), d["exp_avg_sq"].to(device))


def lr_factor(step: int, spec: OptimSpec, total_steps: int) -> float:
    """Multiplier of the base lr for update number `step` (0-based).

    Linear warm-up from 0: update 0 uses 1/warmup of the lr, update warmup-1 the full lr;
    then constant, or cosine annealing to 0 at `total_steps`.
    """
    if step < spec.warmup_steps:
        return (step + 1) / spec.warmup_steps
    if spec.schedule == "cosine":
        span = max(1, total_steps - spec.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - spec.warmup_steps) / span)))
    return 1.0


@torch.no_grad()
def optimizer_step(
    flat: Tensor,
    grad: Tensor,
    state: OptimState,
    *,
    spec: OptimSpec,
    lr: Tensor,
    weight_decay: Tensor,
    target: Tensor | None,
    update_noise: Tensor | None = None,
) -> None:
    """One in-place update of every member. lr, weight_decay: [M, 1]; target: [M, P] or None
    (None decays toward the origin); update_noise: [M, P] added to the normalized update."""
    state.step += 1
    decay = flat if target is None else flat - target  # [M, P]
    if spec.optimizer == "sgd":
        g = grad + weight_decay * decay
        update = state.exp_avg.mul_(spec.momentum).add_(g) if spec.momentum else g
    else:
        if spec.optimizer == "adamw":
            flat.sub_(lr * weight_decay * decay)
        elif spec.optimizer == "adam_l2":
            grad = grad + weight_decay * decay
        b1, b2 = spec.beta1, spec.beta2
        state.exp_avg.lerp_(grad, 1 - b1)
        state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = state.exp_avg_sq.sqrt().div_(math.sqrt(1 - b2**state.step)).add_(spec.eps)
        update = state.exp_avg.div(denom).div_(1 - b1**state.step)
    if update_noise is not None:
        update = update + update_noise
    flat.sub_(update * lr)  # update may be the momentum buffer itself: never scale it in place
