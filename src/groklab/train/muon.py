"""Muon over a population's flat [M, P] parameters: which tensors it updates, and its update.

Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers"; `torch.optim.Muon`) keeps a
momentum buffer of each 2-D weight's gradient and replaces the update by its orthogonalisation,
five Newton-Schulz iterations in bfloat16 with the quintic coefficients (3.4445, -4.775, 2.0315):
    B <- B + (1 - mu) (g - B)              (the buffer as torch keeps it: lerp toward g)
    U <- g + mu (B - g) with Nesterov, else B
    O <- NS(U / ||U||_F)                   (rows and columns swapped while rows > columns)
    theta <- theta (1 - lr wd) - lr sqrt(max(1, fan_out / fan_in)) O
As the reference implementation prescribes, Muon is for the hidden 2-D weights only: the
input embedding, the output layer and every vector (biases, gains) go to AdamW, with the
member's `lr` and the spec's betas. Here that means: every parameter that is 2-D in one member's
shape, except those a model names in `io_parameters()` (the MLP: its output layer, and its first
layer when it reads one-hot inputs, which is an embedding table) or, for models that name none,
`W_E`, `W_pos` and `W_U`. A transformer block's W_Q, W_K, W_V, W_O, W_in and W_out get Muon as
the matrices of their linear maps (the per-head [n_heads, d_model, d_head] W_Q is the
[d_model, n_heads * d_head] matrix); its LayerNorm gains and biases get AdamW.

Every member's matrices are orthogonalised together: one batched matmul per matrix and
iteration, [M, rows, cols]. The buffer and AdamW's moments are named tensors of the optimizer
state (train/optim.py), so they live in the checkpoint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from groklab.errors import SpecError

NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)
NS_EPS = 1e-7
DEFAULT_IO = ("W_E", "W_pos", "W_U")
# Transformer block weights in TransformerLens layout multiply from the right (x @ W): stored
# [in, out], and the per-head W_Q/W_K/W_V [n_heads, d_model, d_head] are the [d_model,
# n_heads * d_head] matrix the model builds (heads contiguous), W_O [n_heads, d_head, d_model]
# the [n_heads * d_head, d_model] one.
TRANSFORMER_WEIGHT = re.compile(r"blocks\.\d+\.(attn|mlp)\.W_\w+$")
HEADS_FIRST = re.compile(r"\.attn\.W_[QKV]$")


@dataclass(frozen=True)
class Matrix:
    """One Muon weight: `shape` as stored for one member, `fan_in` x `fan_out` as a map."""

    name: str
    start: int  # its first column in the flat [M, P] tensor
    shape: tuple[int, ...]
    fan_in: int
    fan_out: int
    in_out: bool = False  # stored [in, out] (x @ W), not nn.Linear's [out, in]
    heads_first: bool = False  # [H, D, dh] stored: the [in, out] matrix is [D, H * dh]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def lr_ratio(self) -> float:
        """torch.optim.Muon's default ("original") lr scale, sqrt(max(1, fan_out / fan_in)),
        which torch reads from an nn.Linear weight's [out, in] shape."""
        return math.sqrt(max(1.0, self.fan_out / self.fan_in))

    def as_matrix(self, u: Tensor) -> Tensor:
        """[M, size] -> [M, fan_out, fan_in]: each member's weight as an nn.Linear weight, the
        orientation torch.optim.Muon sees (bfloat16 rounds X X^T and X^T X differently)."""
        if self.heads_first:
            h, d, dh = self.shape
            u = u.view(-1, h, d, dh).permute(0, 2, 1, 3).reshape(-1, d, h * dh)
        elif self.in_out:
            u = u.view(-1, self.fan_in, self.fan_out)
        else:
            return u.view(-1, self.fan_out, self.fan_in)
        return u.mT

    def as_flat(self, o: Tensor) -> Tensor:
        """The inverse of `as_matrix`: [M, fan_out, fan_in] -> [M, size] in the stored order."""
        if self.heads_first:
            h, d, dh = self.shape
            return o.mT.reshape(-1, d, h, dh).permute(0, 2, 1, 3).flatten(1)
        return (o.mT if self.in_out else o).flatten(1)


def matrix_view(name: str, start: int, shape: tuple[int, ...], io: Sequence[str]) -> Matrix | None:
    """The matrix of one parameter's linear map (Muon's view, also the `egd` transform's), or
    None for a vector and for a name in `io` (where Muon leaves it to AdamW)."""
    if name in io:
        return None
    if TRANSFORMER_WEIGHT.search(name) and len(shape) in (2, 3):
        if HEADS_FIRST.search(name) and len(shape) == 3:  # W_Q/W_K/W_V: [H, D, dh]
            return Matrix(
                name, start, shape, shape[1], shape[0] * shape[2], in_out=True, heads_first=True
            )
        return Matrix(name, start, shape, math.prod(shape[:-1]), shape[-1], in_out=True)
    if len(shape) == 2:  # nn.Linear and nn.LSTM layout: [out, in]
        return Matrix(name, start, shape, shape[1], shape[0])
    return None


@dataclass(frozen=True)
class MuonLayout:
    matrices: tuple[Matrix, ...]  # the tensors Muon updates, in flat order
    muon_index: Tensor  # [P_muon] their flat columns, in the order muon_update returns them
    adamw_index: Tensor  # [P_adamw] the flat columns AdamW updates

    @property
    def n_muon(self) -> int:
        return sum(m.size for m in self.matrices)


def build_muon_layout(
    template: nn.Module, names: Sequence[str], shapes: Sequence[torch.Size], device: torch.device
) -> MuonLayout:
    """The Muon matrices of a population whose members look like `template`; a model with none
    is a one-line SpecError."""
    io = template.io_parameters() if hasattr(template, "io_parameters") else DEFAULT_IO
    matrices, adamw, start = [], [], 0
    for name, shape in zip(names, shapes, strict=True):
        size = math.prod(shape)
        matrix = matrix_view(name, start, tuple(int(n) for n in shape), io)
        if matrix is None:
            adamw.append(torch.arange(start, start + size))
        else:
            matrices.append(matrix)
        start += size
    if not matrices:
        raise SpecError(
            f"optimizer='muon' needs a 2-D hidden weight; this model has none "
            f"(parameters: {', '.join(names)}); allowed: a model with a hidden layer"
        )
    muon = torch.cat([torch.arange(m.start, m.start + m.size) for m in matrices])
    adamw_index = torch.cat(adamw) if adamw else torch.zeros(0, dtype=torch.long)
    return MuonLayout(tuple(matrices), muon.to(device), adamw_index.to(device))


def orthogonalize(update: Tensor, steps: int) -> Tensor:
    """[M, rows, cols] -> each member's matrix after `steps` Newton-Schulz iterations (bf16),
    as torch.optim.Muon computes it for one matrix."""
    a, b, c = NS_COEFFICIENTS
    x = update.bfloat16()
    tall = update.shape[-2] > update.shape[-1]
    if tall:
        x = x.mT
    x = x / x.norm(dim=(-2, -1), keepdim=True).clamp(min=NS_EPS)  # spectral norm <= 1
    for _ in range(steps):
        gram = x @ x.mT  # [M, r, r]
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, poly, x, beta=a)
    return x.mT if tall else x


@torch.no_grad()
def muon_update(
    grad: Tensor, buffer: Tensor, layout: MuonLayout, *, momentum: float, nesterov: bool, steps: int
) -> Tensor:
    """grad [M, P], buffer [M, P_muon] (updated in place) -> the scaled orthogonalised update
    [M, P_muon] of every Muon matrix, concatenated in flat order."""
    out, offset = [], 0
    for mat in layout.matrices:
        g = grad[:, mat.start : mat.start + mat.size]  # [M, r * c]
        buf = buffer[:, offset : offset + mat.size]
        buf.lerp_(g, 1 - momentum)
        u = g.lerp(buf, momentum) if nesterov else buf
        o = orthogonalize(mat.as_matrix(u), steps)  # [M, a, b] bf16
        out.append(mat.as_flat(o).to(grad.dtype) * mat.lr_ratio)
        offset += mat.size
    return torch.cat(out, 1)
