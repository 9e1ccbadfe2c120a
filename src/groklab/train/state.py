"""Everything training reads (`Task`) and everything it mutates and checkpoints (`TrainState`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from groklab import rng
from groklab.data import noisy_targets
from groklab.data.datasets import Dataset, make_dataset, make_member_masks
from groklab.errors import GroklabError, SpecError
from groklab.models import DROPOUT_ARCHS, build_model, share_input_structure
from groklab.models.build import parameter_groups
from groklab.spec import RunSpec
from groklab.spec.checks import group_values
from groklab.train.batches import BatchSampler
from groklab.train.muon import MuonLayout, build_muon_layout
from groklab.train.noise import Streams
from groklab.train.optim import (
    OptimState,
    init_optim_state,
    optim_state_from_dict,
    optimizer_entry,
    upgrade_optim_dict,
)
from groklab.train.population import Population
from groklab.train.transforms import Chain, build_chain

# The parameters' dtype: bf16 trains fp32 weights under autocast (train/step.py).
DTYPES = {"float32": torch.float32, "bf16": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Task:
    """The examples every member may see and each member's view of them.

    Only examples some member trains on or is evaluated on are kept, so a large pool (60k
    MNIST images) with a small training set costs nothing at evaluation.
    """

    inputs: Tensor  # [N, ...] int64 tokens or features, shared by all members
    targets: Tensor  # [M, N] classes (per member: label noise differs) or [M, N, K] rows
    masks: Tensor  # [M, N] bool, True = training example
    val_masks: Tensor  # [M, N] bool, True = validation (test) example
    d_vocab: int  # 0 for feature inputs
    d_out: int  # output width of the model
    templates: Tensor | None = None  # [V, K] MSE target row per class

    @property
    def n_ctx(self) -> int:
        return self.inputs.shape[1]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.inputs.shape[1:])


def _member_targets(spec: RunSpec, dataset: Dataset, masks: Tensor) -> Tensor:
    if dataset.is_regression or all(m.n_outliers == 0 for m in spec.members):
        return dataset.targets.expand(spec.n_members, *dataset.targets.shape)
    # classes: one per template row where answers are templates (d_out is then their width)
    n_classes = dataset.d_out if dataset.templates is None else dataset.templates.shape[0]
    return torch.stack(
        [
            noisy_targets(
                dataset.targets, mask, n_outliers=m.n_outliers, seed=m.seed, n_classes=n_classes
            )
            for m, mask in zip(spec.members, masks, strict=True)
        ]
    )


def _check_task(spec: RunSpec, dataset: Dataset) -> None:
    loss, arch = spec.train.loss, spec.model.arch
    if dataset.is_regression and loss != "mse":
        raise SpecError(
            f"loss={loss!r} does not fit the regression data set "
            f"{spec.data.dataset!r}; allowed: mse"
        )
    if loss == "bce" and dataset.d_out != 2:
        raise SpecError(f"loss='bce' needs two classes; {spec.data.dataset!r} has {dataset.d_out}")
    if arch == "transformer" and not dataset.is_tokens:
        raise SpecError(f"arch='transformer' reads tokens; {spec.data.dataset!r} gives features")
    if arch not in DROPOUT_ARCHS and any(m.dropout for m in spec.members):
        raise SpecError(
            f"dropout is not supported for arch={arch!r}; allowed: {', '.join(DROPOUT_ARCHS)}"
        )
    if dataset.is_regression and any(m.n_outliers for m in spec.members):
        raise SpecError(f"n_outliers needs classes; {spec.data.dataset!r} is a regression task")


def make_task(spec: RunSpec, device: torch.device) -> Task:
    dataset = make_dataset(spec.data)
    _check_task(spec, dataset)
    masks, val_masks = make_member_masks(dataset, spec.members)
    targets = _member_targets(spec, dataset, masks)
    used = (masks | val_masks).any(0)  # [N] examples anyone trains or is evaluated on
    if not used.all():
        index = used.nonzero().flatten()
        inputs, targets = dataset.inputs[index], targets[:, index]
        masks, val_masks = masks[:, index], val_masks[:, index]
    else:
        inputs = dataset.inputs
    dtype = DTYPES[spec.train.dtype]
    if inputs.is_floating_point():
        inputs = inputs.to(dtype)
    if targets.is_floating_point():
        targets = targets.to(dtype)
    templates = None if dataset.templates is None else dataset.templates.to(device, dtype)
    return Task(
        inputs.to(device),
        targets.contiguous().to(device),
        masks.to(device),
        val_masks.to(device),
        dataset.d_vocab,
        1 if spec.train.loss == "bce" else dataset.d_out,
        templates,
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
    chain: Chain  # the gradient transforms (train/transforms.py)
    transform_state: dict[str, dict[str, Tensor]]  # each transform's named tensors
    spec: RunSpec
    done: bool = False
    muon_layout: MuonLayout | None = None  # optimizer="muon": which columns Muon updates
    muon_lr: Tensor | None = None  # [M, 1] base lr of the Muon matrices
    lr_columns: Tensor | None = None  # [M, P] with [optim] group_lr: each column's lr
    weight_decay_columns: Tensor | None = None  # [M, P] with group_weight_decay

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "flat": self.population.flat.detach().cpu(),
            "opt": _cpu(self.opt),
            "transforms": {name: _cpu(t) for name, t in self.transform_state.items()},
            "sampler": self.sampler.state_dict(),
            "init_flat": None if self.init_flat is None else self.init_flat.cpu(),
            "streams": self.streams.state_dict(),
            "hits": self.hits.cpu(),
            "done": self.done,
        }

    def check_fits(self, saved: dict) -> None:
        """Refuse, in one line, a saved state that this run could not continue: a step outside
        0..steps, a missing key, or a tensor whose shape or dtype differs from this spec's
        (the first difference is named). Nothing is loaded before the check passes."""
        step, steps = saved.get("step"), self.spec.train.steps
        if type(step) is not int or not 0 <= step <= steps:
            raise GroklabError(f"step {step!r} is outside this run's 0..{steps}")
        if isinstance(saved.get("opt"), dict):  # an older layout, as load_dict reads it
            saved = {**saved, "opt": upgrade_optim_dict(saved["opt"], self.spec.optim)}
        template = self.to_dict()
        if not saved.get("transforms") and not template["transforms"]:
            template.pop("transforms")  # none saved before transforms existed
        why = _difference(saved, template, "")
        if why is not None:
            raise GroklabError(f"{why}, which this run's spec does not give")

    def load_dict(self, d: dict) -> None:
        device = self.population.flat.device
        self.step = int(d["step"])
        with torch.no_grad():
            self.population.flat.copy_(d["flat"])
        self.opt = optim_state_from_dict(d["opt"], self.spec.optim, device)
        for name, saved in d.get("transforms", {}).items():  # none before transforms existed
            self.transform_state[name] = {k: v.to(device) for k, v in saved.items()}
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
            d_out=task.d_out,
            input_shape=task.input_shape,
            generator=rng.generator(m.seed, rng.INIT),
            init_scale=m.init_scale,
        )
        for m in spec.members
    ]
    population = Population.stack(models, device, dtype=DTYPES[spec.train.dtype])
    share_input_structure(population.template, task.inputs)  # every batch is rows of these
    keep_init = spec.optim.decay_to == "init" or spec.interventions.norm_constraint
    streams = Streams(spec)
    chain = build_chain(
        spec,
        sizes=population.sizes,
        streams=streams,
        device=device,
        names=population.names,
        shapes=population.shapes,
    )
    layout = None
    if optimizer_entry(spec.optim.optimizer).needs_layout:  # Muon: without hidden matrices, fails
        layout = build_muon_layout(population.template, population.names, population.shapes, device)
    lr = torch.tensor([[m.lr] for m in spec.members], device=device)
    weight_decay = torch.tensor([[m.weight_decay] for m in spec.members], device=device)
    return TrainState(
        step=0,
        population=population,
        opt=init_optim_state(population.flat.detach(), spec.optim, layout),
        sampler=BatchSampler(task.masks, [m.seed for m in spec.members], spec.train.batch_size),
        init_flat=population.flat.detach().clone() if keep_init else None,
        streams=streams,
        lr=lr,
        weight_decay=weight_decay,
        hits=torch.zeros(spec.n_members, dtype=torch.long, device=device),
        chain=chain,
        transform_state=chain.init_state(population.flat),
        spec=spec,
        muon_layout=layout,
        muon_lr=torch.tensor([[m.muon_lr] for m in spec.members], device=device),
        lr_columns=by_column(population, lr, spec.optim.group_lr, "group_lr"),
        weight_decay_columns=by_column(
            population, weight_decay, spec.optim.group_weight_decay, "group_weight_decay"
        ),
    )


def build_template(spec: RunSpec, task: Task) -> torch.nn.Module:
    """An untrained module of the spec's shape and dtype (its weights are to be overwritten)."""
    return build_model(
        spec.model,
        d_vocab=task.d_vocab,
        n_ctx=task.n_ctx,
        d_out=task.d_out,
        input_shape=task.input_shape,
        generator=rng.generator(0, rng.INIT),
    ).to(DTYPES[spec.train.dtype])


def check_parameter_groups(spec: RunSpec, task: Task) -> None:
    """Refuse, before anything is written, a group_lr / group_weight_decay group the spec's
    model does not declare (one line naming the ones it does)."""
    if not (spec.optim.group_lr or spec.optim.group_weight_decay):
        return
    model = build_template(spec, task)
    for name in ("group_lr", "group_weight_decay"):
        _check_groups(parameter_groups(model), getattr(spec.optim, name), name)


def _check_groups(groups: dict, overrides: tuple[str, ...], name: str) -> None:
    for group in group_values(overrides):
        if group not in groups:
            declared = ", ".join(groups) or "none"
            raise SpecError(
                f"{name}: the model has no parameter group {group!r}; it has: {declared}"
            )


def by_column(population: Population, base: Tensor, overrides: tuple[str, ...], name: str):
    """[M, P]: each member's `base` [M, 1] in every column, and each group's value of
    `overrides` ("group=value", spec/checks.py) in its parameters' columns; None without
    overrides. A group the model does not declare is a one-line SpecError naming those it does."""
    if not overrides:
        return None
    groups = parameter_groups(population.template)
    _check_groups(groups, overrides, name)
    columns = base.expand(-1, population.flat.shape[1]).clone()
    starts = dict(zip(population.names, _offsets(population.sizes), strict=True))
    sizes = dict(zip(population.names, population.sizes, strict=True))
    for group, value in group_values(overrides).items():
        for param in groups[group]:
            columns[:, starts[param] : starts[param] + sizes[param]] = value
    return columns


def _offsets(sizes: list[int]) -> list[int]:
    out, total = [], 0
    for size in sizes:
        out.append(total)
        total += size
    return out


def _cpu(state: dict) -> dict:
    return {k: v.cpu() if isinstance(v, Tensor) else v for k, v in state.items()}


def _difference(saved, template, where: str) -> str | None:
    """The first place where `saved` lacks `template`'s keys, lengths, kinds, shapes or dtypes."""
    name = where or "the state"
    if isinstance(template, Tensor):
        if not isinstance(saved, Tensor):
            return f"{name} is a {type(saved).__name__}, not a tensor"
        if saved.shape != template.shape or saved.dtype != template.dtype:
            return f"{name} is {saved.dtype} {list(saved.shape)}, not {template.dtype} " + str(
                list(template.shape)
            )
        return None
    if isinstance(template, dict):
        if not isinstance(saved, dict):
            return f"{name} is a {type(saved).__name__}, not a dict"
        for key, value in template.items():
            if key not in saved:
                return f"{where + '.' if where else ''}{key} is missing"
            why = _difference(saved[key], value, f"{where + '.' if where else ''}{key}")
            if why is not None:
                return why
        return None
    if isinstance(template, list | tuple):
        if not isinstance(saved, list | tuple) or len(saved) != len(template):
            return f"{name} has {_length(saved)} entries, not {len(template)}"
        for i, (a, b) in enumerate(zip(saved, template, strict=True)):
            why = _difference(a, b, f"{name}[{i}]")
            if why is not None:
                return why
        return None
    if type(saved) is not type(template):
        return f"{name} is {saved!r}, not a {type(template).__name__}"
    return None


def _length(x) -> str:
    return str(len(x)) if isinstance(x, list | tuple) else f"no list of ({type(x).__name__})"
