"""Everything training reads (`Task`) and everything it mutates and checkpoints (`TrainState`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from groklab import rng
from groklab.data import make_table, make_train_masks, noisy_targets
from groklab.models import build_model, dropout_shape
from groklab.spec import RunSpec
from groklab.train.batches import BatchSampler
from groklab.train.optim import OptimState
from groklab.train.population import Population


@dataclass(frozen=True)
class Task:
    """The full example table and each member's view of it."""

    inputs: Tensor  # [N, T] tokens, shared by all members
    targets: Tensor  # [M, N] answers (per member: label noise differs)
    masks: Tensor  # [M, N] bool, True = training example
    d_vocab: int
    n_classes: int

    @property
    def n_ctx(self) -> int:
        return self.inputs.shape[1]


def make_task(spec: RunSpec, device: torch.device) -> Task:
    table = make_table(spec.data.op, spec.data.p)
    masks = make_train_masks(table.n_examples, [(m.seed, m.train_fraction) for m in spec.members])
    targets = torch.stack(
        [
            noisy_targets(
                table.targets,
                mask,
                n_outliers=spec.data.n_outliers,
                seed=m.seed,
                n_classes=table.n_classes,
            )
            for m, mask in zip(spec.members, masks, strict=True)
        ]
    )
    return Task(
        table.inputs.to(device),
        targets.to(device),
        masks.to(device),
        table.d_vocab,
        table.n_classes,
    )


@dataclass
class TrainState:
    step: int
    population: Population
    opt: OptimState
    sampler: BatchSampler
    init_flat: Tensor | None  # [M, P] kept for decay toward the init and norm constraint
    dropout_gens: list[torch.Generator]
    lr: Tensor  # [M, 1] base learning rates
    weight_decay: Tensor  # [M, 1]
    hits: Tensor  # [M] consecutive evaluations at/above the stop threshold
    done: bool = False

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "flat": self.population.flat.detach().cpu(),
            "opt": {
                k: v.cpu() if isinstance(v, Tensor) else v for k, v in self.opt.to_dict().items()
            },
            "sampler": self.sampler.state_dict(),
            "init_flat": None if self.init_flat is None else self.init_flat.cpu(),
            "dropout_gens": [g.get_state() for g in self.dropout_gens],
            "hits": self.hits.cpu(),
            "done": self.done,
        }

    def load_dict(self, d: dict) -> None:
        device = self.population.flat.device
        self.step = int(d["step"])
        with torch.no_grad():
            self.population.flat.copy_(d["flat"])
        self.opt = OptimState.from_dict(d["opt"], device)
        self.sampler.load_state_dict(d["sampler"])
        self.init_flat = None if d["init_flat"] is None else d["init_flat"].to(device)
        for g, s in zip(self.dropout_gens, d["dropout_gens"], strict=True):
            g.set_state(s)
        self.hits = d["hits"].to(device)
        self.done = bool(d["done"])


def init_state(spec: RunSpec, task: Task, device: torch.device) -> TrainState:
    """Members built one by one from their own init generators, then stacked."""
    models = [
        build_model(
            spec.model,
            d_vocab=task.d_vocab,
            n_ctx=task.n_ctx,
            d_out=task.n_classes,
            generator=rng.generator(m.seed, rng.INIT),
            init_scale=m.init_scale,
        )
        for m in spec.members
    ]
    population = Population.stack(models, device)
    keep_init = spec.optim.decay_to == "init" or spec.interventions.norm_constraint
    return TrainState(
        step=0,
        population=population,
        opt=OptimState.zeros(population.flat.detach(), spec.optim),
        sampler=BatchSampler(task.masks, [m.seed for m in spec.members], spec.train.batch_size),
        init_flat=population.flat.detach().clone() if keep_init else None,
        dropout_gens=[rng.generator(m.seed, rng.DROPOUT) for m in spec.members],
        lr=torch.tensor([[m.lr] for m in spec.members], device=device),
        weight_decay=torch.tensor([[m.weight_decay] for m in spec.members], device=device),
        hits=torch.zeros(spec.n_members, dtype=torch.long, device=device),
    )


def dropout_keep(
    state: TrainState, spec: RunSpec, rows: list[int], n_ctx: int, device: torch.device
) -> Tensor | None:
    """[M, L, B, T, W] keep-masks, each member from its own dropout stream, drawn for its own
    batch size `rows[m]` (then padded), so a member draws the same alone or among others."""
    p = spec.model.dropout
    if p == 0.0:
        return None
    width = max(rows)
    masks = []
    for g, n in zip(state.dropout_gens, rows, strict=True):
        keep = torch.rand(dropout_shape(spec.model, n, n_ctx), generator=g) >= p
        masks.append(F.pad(keep.float(), (0, 0, 0, 0, 0, width - n)))
    return torch.stack(masks).to(device)
