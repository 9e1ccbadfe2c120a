"""One training step and one full evaluation, for every member at once."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import Tensor

from groklab.spec import RunSpec
from groklab.train.losses import example_correct, example_loss
from groklab.train.optim import lr_factor, optimizer_step
from groklab.train.reduce import fixed_sum  # sums over N: the same at any thread count
from groklab.train.state import Task, TrainState

EVAL_ROWS = 16384  # member-examples per evaluation chunk: bounds activation memory


def autocast(spec: RunSpec, device: torch.device) -> contextlib.AbstractContextManager:
    if spec.train.dtype == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def loss_dtype(spec: RunSpec) -> torch.dtype | None:
    return torch.float64 if spec.train.loss_dtype == "float64" else None


def take(targets: Tensor, idx: Tensor) -> Tensor:
    """targets [M, N] or [M, N, K], idx [M, B] -> [M, B] or [M, B, K]."""
    if targets.dim() == 2:
        return targets.gather(1, idx)
    return targets.gather(1, idx[..., None].expand(-1, -1, targets.shape[-1]))


LossFn = Callable[[Tensor, Tensor, Tensor, Tensor | None, Tensor | None], Tensor]


def build_loss_fn(state: TrainState, task: Task, spec: RunSpec, *, compile: bool = False) -> LossFn:
    """(flat, inputs, targets, keep, weight) -> each member's mean batch loss [M].

    With `compile`, torch.compile traces the population's forward and the loss (vmap over
    functional_call included) and AOTAutograd compiles its backward; the fused kernels change
    results only by float reassociation (tests/train/test_compile.py). The optimizer stays
    eager: its step counter changes every update and would recompile it each time.
    """
    pop, device = state.population, state.population.flat.device

    def loss_fn(flat: Tensor, inputs: Tensor, targets: Tensor, keep, weight) -> Tensor:
        with autocast(spec, device):
            out = pop(inputs, keep, flat=flat)  # [M, B, V]
        per_example = example_loss(
            spec.train.loss, out, targets, task.templates, dtype=loss_dtype(spec)
        )  # [M, B]
        if weight is None:
            return per_example.mean(1)
        return (per_example * weight).sum(1) / weight.sum(1)

    return torch.compile(loss_fn, dynamic=False) if compile else loss_fn


def batch_loss(
    state: TrainState, task: Task, spec: RunSpec, loss_fn: LossFn | None = None
) -> Tensor:
    """Mean loss of each member on its next minibatch, [M], with dropout and weight noise."""
    pop, device = state.population, state.population.flat.device
    idx, weight = state.sampler.next()  # [M, B]
    idx = idx.to(device)
    inputs, targets = task.inputs[idx], take(task.targets, idx)  # [M, B, ...], [M, B(, K)]
    rows = [idx.shape[1]] * idx.shape[0] if weight is None else weight.sum(1).int().tolist()
    keep = state.streams.dropout_keep(spec.model, rows, task.n_ctx, device)
    noise = state.streams.gaussian("weight_noise", pop.flat.shape[1:], device)
    flat = pop.flat if noise is None else pop.flat + noise  # stored weights stay clean
    weight = None if weight is None else weight.to(device)
    loss_fn = loss_fn or build_loss_fn(state, task, spec)
    return loss_fn(flat, inputs, targets, keep, weight)


def train_step(
    state: TrainState, task: Task, spec: RunSpec, loss_fn: LossFn | None = None
) -> Tensor:
    """One update of every member; returns the per-member training-batch loss [M].
    `loss_fn`: from build_loss_fn (built afresh, uncompiled, when None)."""
    flat, device = state.population.flat, state.population.flat.device
    loss = batch_loss(state, task, spec, loss_fn)  # [M]
    (grad,) = torch.autograd.grad(loss.sum(), flat)  # sum: each member keeps its own gradient
    grad = state.chain(grad, flat, state.transform_state)  # filters, noise, clipping
    factor = lr_factor(state.step, spec.optim, spec.train.steps)
    optimizer_step(
        flat,
        grad,
        state.opt,
        spec=spec.optim,
        lr=(state.lr if state.lr_columns is None else state.lr_columns) * factor,
        weight_decay=(
            state.weight_decay if state.weight_decay_columns is None else state.weight_decay_columns
        ),
        target=state.init_flat if spec.optim.decay_to == "init" else None,
        update_noise=state.streams.gaussian("update_noise", flat.shape[1:], device),
        layout=state.muon_layout,
        muon_lr=None if state.muon_layout is None else state.muon_lr * factor,
    )
    if spec.interventions.norm_constraint:
        project_norm(flat, state.init_flat)
    state.step += 1
    return loss.detach()


@torch.no_grad()
def project_norm(flat: Tensor, init_flat: Tensor) -> None:
    """Omnigrok's constraint: rescale each member back to its initial norm ||theta_0||."""
    target = init_flat.norm(dim=1, keepdim=True)
    flat.mul_(target / flat.norm(dim=1, keepdim=True))


@torch.no_grad()
def evaluate(state: TrainState, task: Task, spec: RunSpec) -> dict[str, Tensor]:
    """Loss and accuracy on every member's full train and validation splits: name -> [M]."""
    pop, device = state.population, state.population.flat.device
    m, n = task.targets.shape[:2]
    losses, correct = [], []
    chunk = max(1, EVAL_ROWS // m)
    for start in range(0, n, chunk):
        inputs = task.inputs[start : start + chunk]  # [C, ...] shared
        with autocast(spec, device):
            out = pop.forward_shared(inputs)  # [M, C, V]
        targets = task.targets[:, start : start + chunk]  # [M, C(, K)]
        loss = example_loss(spec.train.loss, out, targets, task.templates, dtype=loss_dtype(spec))
        losses.append(loss.double())
        correct.append(example_correct(spec.train.loss, out, targets, task.templates).double())
    loss, hit = torch.cat(losses, 1), torch.cat(correct, 1)  # [M, N]
    train, val = task.masks.double(), task.val_masks.double()
    flat = pop.flat.detach()
    return {
        "train_loss": fixed_sum(loss * train, 1) / train.sum(1),
        "train_acc": fixed_sum(hit * train, 1) / train.sum(1),
        "val_loss": fixed_sum(loss * val, 1) / val.sum(1),
        "val_acc": fixed_sum(hit * val, 1) / val.sum(1),
        "weight_norm": flat.double().norm(dim=1),
        "lr": state.lr[:, 0].double() * lr_factor(state.step, spec.optim, spec.train.steps),
    }
