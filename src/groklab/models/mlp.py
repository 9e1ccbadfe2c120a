"""An MLP for one member: on an operation table (embeddings of x and y concatenated) or on
feature vectors (Omnigrok's MNIST, teacher-student and toy models), then hidden layers.

Token inputs `x op y =` are read at positions 0 and 2 (Liu et al. 2022 and Omnigrok use such
models on algorithmic data), as learned embeddings (`inputs="embed"`) or as one-hot vectors
over the operand values (`inputs="onehot"`: [x; y] of width 2n, n = d_vocab - 2, the op and '='
tokens being the last two ids; Prieto et al. 2025); float inputs [B, *shape] are flattened.
Linear layers use PyTorch's default initialization, weights and biases uniform in
+-1/sqrt(fan_in).

The one-hot first layer is computed as a gather, not a product: W @ [one_hot(x); one_hot(y)]
is W[:, x] + W[:, n + y], two columns of `layers.0.weight` [d_mlp, 2n] added (then the bias),
and its backward an index-add of the output's gradient into those columns (models/gather.py).
The parameters, their shapes and their initial draws are the dense layer's, so run ids do not
change; the forward equals the product exactly without a bias (a sum of two non-zero terms
rounds the same in any order) and to float32 round-off with one, and the gradient to round-off
(the index-add sums each column's examples in another order than the product's reduction).
At the paper's size (p = 113, d_mlp 200, full batch) it removes about a third of a step's FLOPs.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import SpecError
from groklab.models.gather import sum_rows
from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec

OPERAND_TOKENS = 2  # a table's op and '=' tokens follow the operand values in the vocabulary

ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "leaky_relu": F.leaky_relu,
}


def act_fresh(act, h: Tensor) -> Tensor:
    """act(h) for an h made just now that no backward keeps (a product's or a sum's output):
    ReLU in place, the same values without one more [B, width] allocation."""
    return torch.relu_(h) if act is F.relu else act(h)


def activation(spec: ModelSpec):
    """The spec's activation function; leaky_relu with the spec's `leaky_slope`."""
    if spec.act == "leaky_relu":
        return partial(F.leaky_relu, negative_slope=spec.leaky_slope)
    return ACTIVATIONS[spec.act]


def uniform_layers(widths: list[int], *, bias: bool, generator: torch.Generator) -> nn.ModuleList:
    """Linear layers widths[0] -> widths[1] -> ... with PyTorch's default initialization
    (weight, then bias, uniform in +-1/sqrt(fan_in)), drawn from the member's `generator`."""
    layers = nn.ModuleList()
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layer = nn.Linear(fan_in, fan_out, bias=bias)
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=generator)
        layers.append(layer)
    return layers


class TableMLP(nn.Module):
    # named parameter groups for [optim] group_lr / group_weight_decay (models/build.py)
    PARAMETER_GROUPS = {"embed": ("W_E",), "layers": ("layers.",)}

    def __init__(self, spec: ModelSpec, shape: TaskShape, generator: torch.Generator) -> None:
        super().__init__()
        d_vocab, d_out, input_shape = shape.d_vocab, shape.d_out, shape.input_shape
        self.tokens = d_vocab > 0
        self.onehot = self.tokens and spec.inputs == "onehot"
        self.n_values = d_vocab - OPERAND_TOKENS
        if spec.inputs == "onehot" and not self.tokens:
            raise SpecError("inputs='onehot' reads table tokens; this data set gives features")
        if self.onehot:
            d_in = 2 * self.n_values
        elif self.tokens:
            d = spec.d_model
            scale = 1.0 / math.sqrt(d) if spec.init == "normal" else 1.0
            self.W_E = nn.Parameter(torch.randn(d_vocab, d, generator=generator) * scale)
            d_in = 2 * d
        else:
            d_in = math.prod(input_shape)
        widths = [d_in] + [spec.d_mlp] * spec.n_layers + [d_out]
        self.layers = uniform_layers(widths, bias=spec.mlp_bias, generator=generator)
        self.act = activation(spec)

    def io_parameters(self) -> tuple[str, ...]:
        """The parameters that read the inputs or write the outputs, as Muon's reference keeps
        them on AdamW: the embedding (or the first layer on one-hot inputs) and the last layer."""
        last = [f"layers.{len(self.layers) - 1}.{n}" for n in ("weight", "bias")]
        first = ["W_E"] if self.tokens and not self.onehot else []
        return (*first, *(["layers.0.weight"] if self.onehot else []), *last)

    def forward(self, inputs: Tensor, keep: Tensor | None = None) -> Tensor:
        """inputs [B, T] tokens or [B, *shape] features -> outputs [B, V]; keep
        [L, B, 1, d_mlp] dropout masks (0 or 1 / (1 - p)) or None."""
        if self.onehot:
            h = self.onehot_first_layer(inputs)  # [B, H]
        elif self.tokens:
            h = self.layers[0](F.embedding(inputs[:, [0, 2]], self.W_E).flatten(1))  # [B, H]
        else:
            h = self.layers[0](inputs.flatten(1))  # [B, H]
        for i, layer in enumerate(self.layers[1:]):
            h = act_fresh(self.act, h)
            if keep is not None:
                h = h * keep[i, :, 0, : h.shape[-1]]
            h = layer(h)
        return h

    def onehot_first_layer(self, inputs: Tensor) -> Tensor:
        """The first layer of one-hot [x; y], inputs [B, T] -> [B, H]: the columns x and n + y
        of its weight [H, 2n] added, plus its bias; the same as the product with the one-hot
        vector (see the module's docstring). The transposed weight is made contiguous so each
        example's sum reads two rows (`sum_rows`: one bag forward, an index-add backward)."""
        first = self.layers[0]
        columns = torch.stack((inputs[:, 0], inputs[:, 2] + self.n_values), 1)  # [B, 2]
        return sum_rows(first.weight.t().contiguous(), columns, first.bias)  # [2n, H] -> [B, H]
