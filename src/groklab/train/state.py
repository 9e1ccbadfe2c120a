"""Everything training reads (`Task`) and everything it mutates and checkpoints (`TrainState`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from groklab import rng
from groklab.data import make_table, make_train_masks, noisy_targets
from groklab.models import build_model
from groklab.spec import RunSpec
from groklab.train.batches import BatchSampler
from groklab.train.noise import Streams
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
                n_outliers=m.n_outliers,
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
    streams: Streams  # dropout and noise generators, per member
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
            "streams": self.streams.state_dict(),
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
        self.streams.load_state_dict(d["streams"])
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
        streams=Streams(spec),
        lr=torch.tensor([[m.lr] for m in spec.members], device=device),
        weight_decay=torch.tensor([[m.weight_decay] for m in spec.members], device=device),
        hits=torch.zeros(spec.n_members, dtype=torch.long, device=device),
    )
