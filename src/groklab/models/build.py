"""Build one member's model from its spec and its own init generator."""

from __future__ import annotations

import torch
from torch import nn

from groklab.models.mlp import TableMLP
from groklab.models.transformer import Transformer
from groklab.spec import ModelSpec

ARCH_CLASSES: dict[str, type[nn.Module]] = {"transformer": Transformer, "mlp": TableMLP}


def build_model(
    spec: ModelSpec,
    *,
    d_vocab: int,
    n_ctx: int,
    d_out: int,
    generator: torch.Generator,
    init_scale: float = 1.0,
) -> nn.Module:
    """A fresh model; every parameter, biases included, multiplied by `init_scale` (Omnigrok)."""
    model = ARCH_CLASSES[spec.arch](
        spec, d_vocab=d_vocab, n_ctx=n_ctx, d_out=d_out, generator=generator
    )
    if init_scale != 1.0:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(init_scale)
    return model


def dropout_shape(spec: ModelSpec, batch: int, n_ctx: int) -> tuple[int, ...]:
    """Shape of one member's dropout keep-mask for a batch: [L, B, T, width]."""
    if spec.arch == "mlp":
        return (spec.n_layers, batch, 1, spec.d_mlp)
    return (spec.n_layers, batch, n_ctx, spec.d_model)
