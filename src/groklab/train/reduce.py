"""Sums whose rounding does not depend on the number of torch threads.

torch reduces a tensor to a single number per row in one of two ways. When there are many
outputs, each output is summed by one thread, always in the same order. When one output
sums many elements (at least 32,768 of them, ATen's grain size), ATen gives each thread its
own slice and then adds the partial sums, so the slice boundaries, and with them the float
rounding, move with `torch.get_num_threads()`. A population of one member hits the second
case on every sum over the parameter axis `[1, P]`: ⊥Grad trained a 200k-parameter
transformer to different weights at 1 and 2 threads (tests/train/test_reduce.py).

`fixed_sum` always takes the first path: it cuts the summed axis into fixed chunks of
`CHUNK` elements, sums each chunk (many outputs, one thread each), then sums the chunk
totals the same way, so the order of additions depends on the shape alone.
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK = 4096  # below ATen's 32,768-element grain, so a chunk is always summed by one thread


def fixed_sum(x: Tensor, dim: int = -1, *, keepdim: bool = False) -> Tensor:
    """`x.sum(dim)` added in an order fixed by the shape, the same at any thread count.

    Example: fixed_sum(torch.ones(1, 10_000), 1) == tensor([10000.]), reduced as
    4096 + 4096 + 1808 (two full chunks and the short rest).
    """
    dim = dim % x.dim()
    moved = x.movedim(dim, -1)
    while moved.shape[-1] > CHUNK:
        full = moved.shape[-1] // CHUNK * CHUNK
        parts = [moved[..., :full].reshape(*moved.shape[:-1], -1, CHUNK).sum(-1)]  # [..., n_full]
        if full < moved.shape[-1]:
            parts.append(moved[..., full:].sum(-1, keepdim=True))  # the short last chunk
        moved = torch.cat(parts, -1)  # [..., ceil(n / CHUNK)]
    out = moved.sum(-1)
    return out.unsqueeze(dim) if keepdim else out


def fixed_norm(x: Tensor, dim: int = -1, *, keepdim: bool = False) -> Tensor:
    """The L2 norm along `dim` through `fixed_sum`: thread-count independent."""
    return fixed_sum(x * x, dim, keepdim=keepdim).sqrt()


def fixed_mean(x: Tensor, dim: int = -1, *, keepdim: bool = False) -> Tensor:
    return fixed_sum(x, dim, keepdim=keepdim) / x.shape[dim]
