"""Optimizers over a population's flat [M, P] parameters, with per-member lr and weight decay.

Each is exactly M independent copies of the textbook update (a test checks AdamW against
torch.optim.AdamW member by member). Weight decay pulls toward the origin or toward the
initialization (Power et al. 2022, Fig. 2 center):
- adamw:   theta -= lr * wd * (theta - target); then the Adam step (Loshchilov & Hutter 2019);
- adam_l2: grad += wd * (theta - target) before the moments (Adam + L2);
- adam:    no decay;
- sgd:     grad += wd * (theta - target); momentum buffer; theta -= lr * buf;
- muon:    Muon (train/muon.py) on the hidden 2-D weights with the member's `muon_lr`, AdamW
           on every other tensor with its `lr`; both decay decoupled, as adamw (checked against
           torch.optim.Muon and torch.optim.AdamW member by member).

On a CPU, adamw, adam and adam_l2 decaying toward the origin run as torch's fused Adam kernel
(one pass over [M, P] instead of ~11; a population of MNIST MLPs trains ~20 % faster per
member-step): the same update to float round-off, and the same bits at any thread count.

Each optimizer is one `OptimizerEntry` in OPTIMIZER_ENTRIES: its state's layout (`init`), its
update, and how many [M, P] tensors its state keeps (read by the memory estimate). A new
optimizer is its update function here (or in its own module, as Muon) and one entry line, plus
its declaration in groklab/plugins.py (its name, which spec.OPTIMIZERS lists, and its knobs:
the spec fields only it reads, with their defaults, ranges and help; a test keeps the two
lists equal).

The lr schedule (`lr_factor`) multiplies every lr: linear warm-up, then constant, cosine, or
"step" (times `step_factor` every `step_every` updates, as torch's StepLR; Omnigrok's toy model
decays by 0.2 every 5,000 steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from groklab.spec import OptimSpec
from groklab.train.muon import MuonLayout, muon_update

# The optimizer's state: named tensors (and the update count "step"), saved as they are.
OptimState = dict[str, Tensor | int]


@dataclass(frozen=True)
class OptimizerEntry:
    name: str  # as spec.OPTIMIZERS and `[optim] optimizer` name it
    # (flat [M, P], spec, layout) -> the state's tensors, all zeros, and "step": 0
    init: Callable[[Tensor, OptimSpec, MuonLayout | None], OptimState]
    # (flat, grad, state, spec, lr, weight_decay, decay, update_noise, layout, muon_lr): in place
    update: Callable[..., None]
    state_copies: int  # [M, P] tensors its state keeps at most, for the memory estimate
    needs_layout: bool = False  # it reads the population's MuonLayout
    # a saved state from an older layout, in today's (None: saved as it is today)
    upgrade: Callable[[dict], dict] | None = None


def _adam_state(flat: Tensor, spec: OptimSpec, layout: MuonLayout | None) -> OptimState:
    return {"step": 0, "exp_avg": torch.zeros_like(flat), "exp_avg_sq": torch.zeros_like(flat)}


def _sgd_state(flat: Tensor, spec: OptimSpec, layout: MuonLayout | None) -> OptimState:
    return {"step": 0, "momentum_buffer": torch.zeros_like(flat)}


def _muon_state(flat: Tensor, spec: OptimSpec, layout: MuonLayout | None) -> OptimState:
    """Muon's momentum buffer [M, P_muon] and AdamW's moments of the other columns."""
    if layout is None:
        raise ValueError("optimizer='muon' needs the population's MuonLayout")
    m, n_muon, n_adamw = flat.shape[0], layout.n_muon, len(layout.adamw_index)
    return {
        "step": 0,
        "momentum_buffer": flat.new_zeros(m, n_muon),
        "exp_avg": flat.new_zeros(m, n_adamw),
        "exp_avg_sq": flat.new_zeros(m, n_adamw),
    }


def _sgd_upgrade(d: dict) -> dict:
    """SGD's buffer saved as `exp_avg` beside an empty `exp_avg_sq`, from before named state."""
    if "momentum_buffer" not in d and "exp_avg" in d:
        return {"step": d.get("step"), "momentum_buffer": d["exp_avg"]}
    return d


def init_optim_state(flat: Tensor, spec: OptimSpec, layout: MuonLayout | None = None) -> OptimState:
    """The optimizer's state for `flat` [M, P]: Adam's two moments, SGD's momentum buffer, or
    Muon's buffer and AdamW's moments of the columns Muon does not update."""
    return optimizer_entry(spec.optimizer).init(flat, spec, layout)


def optim_state_from_dict(d: dict, spec: OptimSpec, device: torch.device) -> OptimState:
    """A saved state on `device`; a checkpoint from before named state (SGD's buffer saved as
    `exp_avg` beside an empty `exp_avg_sq`) loads too."""
    d = upgrade_optim_dict(d, spec)
    return {k: int(v) if k == "step" else v.to(device) for k, v in d.items()}


def upgrade_optim_dict(d: dict, spec: OptimSpec) -> dict:
    """A saved optimizer state in today's layout (SGD's buffer from before named state)."""
    upgrade = optimizer_entry(spec.optimizer).upgrade
    return dict(d) if upgrade is None else dict(upgrade(dict(d)))


def _cosine(step: int, spec: OptimSpec, total_steps: int) -> float:
    span = max(1, total_steps - spec.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - spec.warmup_steps) / span)))


# each lr schedule declared in groklab/plugins.py: its factor after the warm-up (a test keeps
# the two lists equal)
SCHEDULE_FACTORS: dict[str, Callable[[int, OptimSpec, int], float]] = {
    "constant": lambda step, spec, total_steps: 1.0,
    "cosine": _cosine,
    "step": lambda step, spec, total_steps: spec.step_factor ** (step // spec.step_every),
}


def lr_factor(step: int, spec: OptimSpec, total_steps: int) -> float:
    """Multiplier of the base lr for update number `step` (0-based).

    Linear warm-up from 0: update 0 uses 1/warmup of the lr, update warmup-1 the full lr;
    then constant, cosine annealing to 0 at `total_steps`, or step decay: update `step` uses
    step_factor ** (step // step_every), counted from update 0 as torch's StepLR.
    """
    if step < spec.warmup_steps:
        return (step + 1) / spec.warmup_steps
    if spec.schedule not in SCHEDULE_FACTORS:
        known = ", ".join(SCHEDULE_FACTORS)
        raise ValueError(f"schedule {spec.schedule!r} has no factor; known: {known}")
    return SCHEDULE_FACTORS[spec.schedule](step, spec, total_steps)


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
    layout: MuonLayout | None = None,
    muon_lr: Tensor | None = None,
) -> None:
    """One in-place update of every member. lr, weight_decay: [M, 1]; target: [M, P] or None
    (None decays toward the origin); update_noise: [M, P] added to the normalized update.
    Muon also takes the population's `layout` and the Muon matrices' lr `muon_lr` [M, 1]."""
    state["step"] += 1
    decay = flat if target is None else flat - target  # [M, P]
    update = optimizer_entry(spec.optimizer).update
    update(flat, grad, state, spec, lr, weight_decay, decay, update_noise, layout, muon_lr)


def _adamw_step(flat, grad, state, spec, lr, weight_decay, decay, update_noise, *_) -> None:
    if not _fused_adam(flat, grad, state, spec, lr, weight_decay, decay, update_noise, True):
        flat.sub_(lr * weight_decay * decay)  # decoupled: before the Adam step
        _apply(flat, _adam_direction(grad, state, spec), update_noise, lr)


def _adam_l2_step(flat, grad, state, spec, lr, weight_decay, decay, update_noise, *_) -> None:
    if not _fused_adam(flat, grad, state, spec, lr, weight_decay, decay, update_noise, False):
        _apply(flat, _adam_direction(grad + weight_decay * decay, state, spec), update_noise, lr)


def _adam_step(flat, grad, state, spec, lr, weight_decay, decay, update_noise, *_) -> None:
    no_decay = torch.zeros_like(weight_decay)
    if not _fused_adam(flat, grad, state, spec, lr, no_decay, flat, update_noise, False):
        _apply(flat, _adam_direction(grad, state, spec), update_noise, lr)


def _fused_adam(flat, grad, state, spec, lr, weight_decay, decay, update_noise, decoupled) -> bool:
    """The whole Adam update, decay toward the origin decoupled (AdamW) or added to the gradient
    (Adam + L2), as torch's fused CPU kernel: one pass over [M, P] instead of the chain's ~11,
    the same arithmetic to float round-off; elementwise, so the same bits at any thread count
    and for a member alone or in any population (tests/train/test_optim.py). One call per
    member where the members' lr or weight decay differ. Returns False, having done nothing,
    off the CPU, with update noise, decay toward the initialization, or per-parameter lr or
    decay columns [M, P]: the chain serves those."""
    if flat.device.type != "cpu" or update_noise is not None or decay is not flat:
        return False
    if lr.shape[-1] != 1 or weight_decay.shape[-1] != 1:
        return False
    kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
    step = torch.tensor(float(state["step"]))  # optimizer_step counted this update already
    lrs, decays = lr.flatten().tolist(), weight_decay.flatten().tolist()
    m, v, grad = state["exp_avg"], state["exp_avg_sq"], grad.contiguous()
    if len(set(zip(lrs, decays, strict=True))) == 1:  # one call for every member
        lrs, decays, rows = lrs[:1], decays[:1], [(flat, grad, m, v)]
    else:
        rows = list(zip(flat, grad, m, v, strict=True))  # views of each member's row
    for (theta, g, m_row, v_row), lr_i, decay_i in zip(rows, lrs, decays, strict=True):
        kernel(
            [theta],
            [g],
            [m_row],
            [v_row],
            [],
            [step],
            lr=lr_i,
            beta1=spec.beta1,
            beta2=spec.beta2,
            weight_decay=decay_i,
            eps=spec.eps,
            amsgrad=False,
            maximize=False,
        )
    return True


def _sgd_step(flat, grad, state, spec, lr, weight_decay, decay, update_noise, *_) -> None:
    g = grad + weight_decay * decay
    buf = state["momentum_buffer"]
    _apply(flat, buf.mul_(spec.momentum).add_(g) if spec.momentum else g, update_noise, lr)


def _apply(flat: Tensor, update: Tensor, update_noise: Tensor | None, lr: Tensor) -> None:
    if update_noise is not None:
        update = update + update_noise
    flat.sub_(update * lr)  # update may be the momentum buffer itself: never scale it in place


def _adam_direction(grad: Tensor, state: OptimState, spec: OptimSpec) -> Tensor:
    """Adam's bias-corrected m / (sqrt(v) + eps), the moments updated in place."""
    b1, b2, t = spec.beta1, spec.beta2, state["step"]
    state["exp_avg"].lerp_(grad, 1 - b1)
    state["exp_avg_sq"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
    denom = state["exp_avg_sq"].sqrt().div_(math.sqrt(1 - b2**t)).add_(spec.eps)
    return state["exp_avg"].div(denom).div_(1 - b1**t)


def _muon_step(flat, grad, state, spec, lr, weight_decay, decay, update_noise, layout, muon_lr):
    """Muon on layout.muon_index, AdamW on layout.adamw_index; each decays with its own lr."""
    if layout is None or muon_lr is None:
        raise ValueError("optimizer='muon' needs the population's layout and muon_lr")
    parts = [(layout.muon_index, muon_lr), (layout.adamw_index, lr)]
    decays = [decay[:, index] for index, _ in parts]  # copies: flat changes below
    for (index, part_lr), part_decay in zip(parts, decays, strict=True):
        flat.index_add_(1, index, part_decay * (-part_lr * weight_decay))
    directions = [
        muon_update(
            grad,
            state["momentum_buffer"],
            layout,
            momentum=spec.muon_momentum,
            nesterov=spec.muon_nesterov,
            steps=spec.muon_ns_steps,
        ),
        _adam_direction(grad[:, layout.adamw_index], state, spec),
    ]
    for (index, part_lr), direction in zip(parts, directions, strict=True):
        if update_noise is not None:
            direction = direction + update_noise[:, index]
        flat.index_add_(1, index, direction * -part_lr)


# one line per optimizer (Muon's moments: at most 2 per weight, fewer where Muon's one buffer
# covers the hidden matrices)
OPTIMIZER_ENTRIES: dict[str, OptimizerEntry] = {
    entry.name: entry
    for entry in (
        OptimizerEntry("adamw", _adam_state, _adamw_step, 2),
        OptimizerEntry("adam", _adam_state, _adam_step, 2),
        OptimizerEntry("adam_l2", _adam_state, _adam_l2_step, 2),
        OptimizerEntry("sgd", _sgd_state, _sgd_step, 1, upgrade=_sgd_upgrade),
        OptimizerEntry("muon", _muon_state, _muon_step, 2, needs_layout=True),
    )
}


def optimizer_entry(name: str) -> OptimizerEntry:
    if name not in OPTIMIZER_ENTRIES:
        raise ValueError(f"optimizer {name!r} has no entry; known: {', '.join(OPTIMIZER_ENTRIES)}")
    return OPTIMIZER_ENTRIES[name]
