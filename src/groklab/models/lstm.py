"""An LSTM classifier for one member (Omnigrok Fig. 4): token embedding of width d_model,
n_layers LSTM layers of d_mlp hidden units, and a linear read-out of the last time step.

The LSTM is written out (torch.nn.LSTM does not run under vmap): per layer, the input
projection of every time step is one matmul, then each step adds the recurrent projection of
the previous hidden state, one matmul for all four gates, in PyTorch's gate order
(input, forget, cell, output):

    i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, 4)
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
    h_t = sigmoid(o) * tanh(c_t)

Initialization follows PyTorch: embedding N(0, 1) (nn.Embedding), LSTM weights and biases
uniform in +-1/sqrt(d_mlp) (nn.LSTM), read-out uniform in +-1/sqrt(d_mlp) (nn.Linear), drawn in
nn.LSTM's parameter order. `mlp_bias=False` drops the LSTM and read-out biases. Parameters
keep nn.LSTM's layouts, so `lstm.{i}.W_ih` is nn.LSTM's `weight_ih_l{i}` ([4H, d_in]); the
read-out `W_U` is [H, d_out] (TransformerLens' orientation).

Example:
    >>> model = LSTMClassifier(PRESETS["omnigrok_imdb"], TaskShape(1001, 500, 1, (500,)),
    ...                        torch.Generator().manual_seed(0))
    >>> model(torch.zeros(3, 500, dtype=torch.long)).shape
    torch.Size([3, 1])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import SpecError
from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> nn.Parameter:
    return nn.Parameter((torch.rand(shape, generator=generator) * 2 - 1) * bound)


class LSTMLayer(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, *, bias: bool, generator: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(d_hidden)
        self.W_ih = _uniform((4 * d_hidden, d_in), bound, generator)
        self.W_hh = _uniform((4 * d_hidden, d_hidden), bound, generator)
        self.b_ih = _uniform((4 * d_hidden,), bound, generator) if bias else None
        self.b_hh = _uniform((4 * d_hidden,), bound, generator) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """x [B, T, d_in] -> hidden states [B, T, H], starting from h = c = 0."""
        d_hidden = self.W_hh.shape[1]
        pre = x @ self.W_ih.T  # [B, T, 4H]  input part of every step at once
        if self.b_ih is not None:
            pre = pre + (self.b_ih + self.b_hh)
        W_hh_T = self.W_hh.T  # [H, 4H]
        h = c = x.new_zeros(x.shape[0], d_hidden)
        hs = []
        # Few, large ops per step: a step is overhead-bound on a CPU, and more so under vmap.
        for pre_t in pre.unbind(1):
            gates = torch.addmm(pre_t, h, W_hh_T)  # [B, 4H]
            i, f, _, o = torch.sigmoid(gates).chunk(4, dim=-1)
            g = torch.tanh(gates[:, 2 * d_hidden : 3 * d_hidden])
            c = torch.addcmul(f * c, i, g)
            h = o * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1)  # [B, T, H]


class LSTMClassifier(nn.Module):
    def __init__(self, spec: ModelSpec, shape: TaskShape, generator: torch.Generator) -> None:
        super().__init__()
        d_vocab, d_out = shape.d_vocab, shape.d_out  # any sequence length
        if d_vocab < 1:
            raise SpecError("arch='lstm' reads tokens; the data set gives features")
        self.W_E = nn.Parameter(torch.randn(d_vocab, spec.d_model, generator=generator))
        widths = [spec.d_model] + [spec.d_mlp] * spec.n_layers
        self.lstm = nn.ModuleList(
            LSTMLayer(d_in, spec.d_mlp, bias=spec.mlp_bias, generator=generator)
            for d_in in widths[:-1]
        )
        bound = 1.0 / math.sqrt(spec.d_mlp)
        self.W_U = nn.Parameter(_uniform((d_out, spec.d_mlp), bound, generator).data.T.clone())
        self.b_U = _uniform((d_out,), bound, generator) if spec.mlp_bias else None

    def forward(self, tokens: Tensor, keep: Tensor | None = None) -> Tensor:
        """tokens [B, T] -> outputs [B, d_out] from the last step's hidden state; `keep`
        (dropout) is not supported and must be None."""
        del keep
        h = F.embedding(tokens, self.W_E)  # [B, T, D]
        for layer in self.lstm:
            h = layer(h)  # [B, T, H]
        out = h[:, -1] @ self.W_U  # [B, d_out]
        return out if self.b_U is None else out + self.b_U
