"""Build one member's model from its spec and its own init generator."""

from __future__ import annotations

import importlib

import torch
from torch import nn

from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec

# arch -> "module:class", imported on first use. Every class takes (spec, shape, generator), a
# ModelSpec, a TaskShape (models/shape.py) and the member's init generator, and maps one
# member's batch of inputs [B, *shape.input_shape] to outputs [B, shape.d_out].
ARCH_CLASSES: dict[str, str] = {
    "transformer": "groklab.models.transformer:Transformer",
    "mlp": "groklab.models.mlp:TableMLP",
    "lstm": "groklab.models.lstm:LSTMClassifier",
    "nnconv": "groklab.models.graph:NNConvNet",
    "toy": "groklab.models.toy:ToyAddition",
}
DROPOUT_ARCHS = ("transformer", "mlp")  # the archs that take per-member dropout keep-masks


def arch_class(arch: str) -> type[nn.Module]:
    module, _, name = ARCH_CLASSES[arch].partition(":")
    return getattr(importlib.import_module(module), name)


def build_model(
    spec: ModelSpec,
    *,
    d_vocab: int,
    n_ctx: int,
    d_out: int,
    generator: torch.Generator,
    init_scale: float = 1.0,
    input_shape: tuple[int, ...] | None = None,
) -> nn.Module:
    """A fresh model; every parameter, biases included, multiplied by `init_scale` (Omnigrok)."""
    given = (n_ctx,) if input_shape is None else tuple(input_shape)
    model = arch_class(spec.arch)(spec, TaskShape(d_vocab, n_ctx, d_out, given), generator)
    if init_scale != 1.0:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(init_scale)
    return model


def share_input_structure(model: nn.Module, inputs: torch.Tensor) -> None:
    """Tell a model the structure of every input it will be fed (`inputs` [N, ...]: all of
    them), for the exact rewrites that rely on it (Transformer.share_prefix). Models without
    such rewrites ignore it."""
    share = getattr(model, "share_prefix", None)
    if share is not None and not inputs.is_floating_point() and inputs.dim() == 2:
        share(inputs)


def dropout_shape(spec: ModelSpec, batch: int, n_ctx: int) -> tuple[int, ...]:
    """Shape of one member's dropout keep-mask for a batch: [L, B, T, width]."""
    if spec.arch == "mlp":
        return (spec.n_layers, batch, 1, spec.d_mlp)
    return (spec.n_layers, batch, n_ctx, spec.d_model)


def parameter_groups(model: nn.Module) -> dict[str, list[str]]:
    """The model's named parameter groups, group -> the names of its parameters: a model class
    declares PARAMETER_GROUPS, group -> parameter-name prefixes (the toy's "representation" and
    "decoder"); `[optim] group_lr` and `group_weight_decay` address them by name.

    Example: the transformer's {"embed": ["W_E", "W_pos"], "blocks": [...], "unembed": ["W_U"]}.
    """
    declared: dict[str, tuple[str, ...]] = getattr(model, "PARAMETER_GROUPS", {})
    names = [name for name, _ in model.named_parameters()]
    return {
        group: [n for n in names if any(n == p or n.startswith(p) for p in prefixes)]
        for group, prefixes in declared.items()
    }
