"""An MLP on an operation table: the embeddings of x and y concatenated, hidden layers, classes.

A baseline without attention (Liu et al. 2022 and Omnigrok use such models on algorithmic data).
`forward(tokens [B, T]) -> logits [B, V]` reads the operands at positions 0 and 2 (`x op y =`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.spec import ModelSpec


class TableMLP(nn.Module):
    def __init__(
        self, spec: ModelSpec, *, d_vocab: int, n_ctx: int, d_out: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        del n_ctx  # the operands sit at fixed positions 0 and 2
        d = spec.d_model
        scale = 1.0 / math.sqrt(d) if spec.init == "normal" else 1.0
        self.W_E = nn.Parameter(torch.randn(d_vocab, d, generator=generator) * scale)
        widths = [2 * d] + [spec.d_mlp] * spec.n_layers + [d_out]
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            layer = nn.Linear(fan_in, fan_out, bias=spec.mlp_bias)
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)
            self.layers.append(layer)
        self.act = F.relu if spec.act == "relu" else F.gelu

    def forward(self, tokens: Tensor, keep: Tensor | None = None) -> Tensor:
        """tokens [B, T] -> logits [B, V]; keep [L, B, 1, d_mlp] dropout masks
        (0 or 1 / (1 - p)) or None."""
        h = F.embedding(tokens[:, [0, 2]], self.W_E).flatten(1)  # [B, 2D]
        for i, layer in enumerate(self.layers[:-1]):
            h = self.act(layer(h))
            if keep is not None:
                h = h * keep[i, :, 0, : h.shape[-1]]
        return self.layers[-1](h)
