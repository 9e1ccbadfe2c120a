"""Liu et al. 2022's toy model of representation learning, for one member.

Each symbol 0..p-1 has a learned representation E_i in R^d (d = `d_model`, 1 in the paper),
uniform in [-1/2, 1/2] at initialization as in the authors' code. The range matters: at p = 10,
decoder lr 1e-4 and weight decay 0, seeds 0-7, no seed's RQI passed 0.57 in 5,000 steps from
[-1, 1], while seven reached RQI 1 within 3,000 from [-1/2, 1/2]. A decoder MLP (`n_layers`
hidden layers of `d_mlp`, the spec's activation, tanh in the paper) reads E_i + E_j and writes
a row of `d_out` (the answer's template, MSE). Its two parts are the parameter groups
`representation` and `decoder`, which `[optim] group_lr` / `group_weight_decay` train at their
own rates (the paper: representation lr 1e-3, weight decay 0; a grid over the decoder's).

    >>> model = ToyAddition(ModelSpec(arch="toy", n_layers=2, d_model=1, d_mlp=200, act="tanh"),
    ...                     TaskShape(10, 2, 30, (2,)), torch.Generator())
    >>> model(torch.tensor([[3, 5]])).shape     # the pair (3, 5)
    torch.Size([1, 30])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from groklab.errors import SpecError
from groklab.models.mlp import activation, uniform_layers
from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec


class ToyAddition(nn.Module):
    PARAMETER_GROUPS = {"representation": ("representation",), "decoder": ("decoder.",)}

    def __init__(self, spec: ModelSpec, shape: TaskShape, generator: torch.Generator) -> None:
        super().__init__()
        d_vocab, n_ctx, d_out = shape.d_vocab, shape.n_ctx, shape.d_out
        if d_vocab < 2 or n_ctx != 2:
            raise SpecError(
                "arch='toy' reads pairs of symbols (dataset toy_add_symbols); this data set "
                f"gives {'features' if d_vocab == 0 else f'{n_ctx} tokens per example'}"
            )
        self.representation = nn.Parameter(
            torch.rand(d_vocab, spec.d_model, generator=generator) - 0.5
        )
        widths = [spec.d_model] + [spec.d_mlp] * spec.n_layers + [d_out]
        self.decoder = uniform_layers(widths, bias=True, generator=generator)
        self.act = activation(spec)

    def forward(self, inputs: Tensor, keep: Tensor | None = None) -> Tensor:
        """inputs [B, 2] symbols -> [B, d_out]: the decoder of E_i + E_j."""
        del keep  # no dropout
        h = self.representation[inputs[:, 0]] + self.representation[inputs[:, 1]]  # [B, d]
        for layer in self.decoder[:-1]:
            h = self.act(layer(h))
        return self.decoder[-1](h)
