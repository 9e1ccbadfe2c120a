"""Muon over a population's flat [M, P] parameters: which tensors it updates, and its update.

Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers"; `torch.optim.Muon`) keeps a
momentum buffer of each 2-D weight's gradient and replaces the update by its orthogonalisation,
five Newton-Schulz iterations in bfloat16 with the quintic coefficients (3.4445, -4.775, 2.0315):
    B <- B + (1 - mu) (g - B)              (the buffer as torch keeps it: lerp toward g)
    U <- g + mu (B - g) with Nesterov, else B
    O <- NS(U / ||U||_F)                   (rows and columns swapped while rows > columns)
    theta <- theta (1 - lr wd) - lr sqrt(max(1, rows / cols)) O
As the reference implementation prescribes, Muon is for the hidden 2-D weights only: the
input embedding, the output layer and every vector (biases, gains) go to AdamW, with the
member's `lr` and the spec's betas. Here that means: every parameter that is 2-D in one member's
shape, except those a model names in `io_parameters()` (the MLP: its output layer, and its first
layer when it reads one-hot inputs, which is an embedding table) or, for models that name none,
`W_E`, `W_pos` and `W_U`. The transformer's per-head attention weights are 3-D
([n_heads, d_model, d_head]) and go to AdamW; its MLP weights get Muon.

Every member's matrices are orthogonalised together: one batched matmul per matrix and
iteration, [M, rows, cols].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from groklab.errors import SpecError

NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)
NS_EPS = 1e-7
DEFAULT_IO = ("W_E", "W_pos", "W_U")


@dataclass(frozen=True)
class Matrix:
    name: str
    start: int  # its first column in the flat [M, P] tensor
    rows: int
    cols: int

    @property
    def size(self) -> int:
        return self.rows * self.cols

    @property
    def lr_ratio(self) -> float:
        """torch.optim.Muon's default ("original") scale of the lr for this shape."""
        return math.sqrt(max(1.0, self.rows / self.cols))


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
        if len(shape) == 2 and name not in io:
            matrices.append(Matrix(name, start, int(shape[0]), int(shape[1])))
        else:
            adamw.append(torch.arange(start, start + size))
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
        o = orthogonalize(u.view(-1, mat.rows, mat.cols), steps)  # [M, r, c] bf16
        out.append(o.flatten(1).to(grad.dtype) * mat.lr_ratio)
        offset += mat.size
    return torch.cat(out, 1)
