"""Row gathers whose backward adds rows into the table, for tables a population stacks.

A population runs the member's model under `torch.func.vmap`, where a member's table [V, C]
becomes the population's [M, V, C]. Gathering its rows through the embedding kernel sorts the
indices in the backward, and `index_select`'s batched rule gathers along the table's second
axis; both cost more than the gather itself on the full-batch tasks (benchmarks/RESULTS.md
§27-28). Here the population's tables are one [M V, C] table, member m's rows offset by m V:
one row gather forward (a sum of k rows as one bag for `sum_rows`), one `index_add_` per
gathered column backward. The same rows and the same gradients to the bit as the embedding
kernel (tests/models/test_gather.py); each row's gradient is summed in the examples' order,
whatever the number of threads.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gather_rows(table: Tensor, rows: Tensor) -> Tensor:
    """table [V, C], rows int64 [...] -> table[rows] [..., C]."""
    return _RowGather.apply(table, rows, None, False)


def sum_rows(table: Tensor, rows: Tensor, bias: Tensor | None = None) -> Tensor:
    """table [V, C], rows int64 [B, k] -> sum_j table[rows[:, j]] (+ bias [C]) [B, C], summed
    in the order of j, the bias last (a one-hot product's first layer, gathered)."""
    return _RowGather.apply(table, rows, bias, True)


def _member_rows(rows: Tensor, m: int, v: int) -> Tensor:
    """rows [*L, ...] of m = prod(L) stacked tables of V rows -> rows of the [m V, C] table,
    [m, N] (unchanged for one member)."""
    if m == 1:
        return rows
    return rows.reshape(m, -1) + torch.arange(0, m * v, v, device=rows.device)[:, None]


class _RowGather(torch.autograd.Function):
    """table [*L, V, C] and rows [*L, ...] (L: the members' axes the vmap rule added, empty for
    one member) -> [*L, ..., C] gathered, or [*L, B, C] summed over rows' last axis (+ bias
    [*L, C])."""

    @staticmethod
    def forward(table: Tensor, rows: Tensor, bias: Tensor | None, summed: bool) -> Tensor:
        lead_shape, (v, c) = table.shape[:-2], table.shape[-2:]
        m = math.prod(lead_shape)
        flat_table = table.reshape(m * v, c)
        rest = rows.shape[len(lead_shape) :]
        rows = _member_rows(rows, m, v)
        if not summed:
            return F.embedding(rows.reshape(*lead_shape, *rest), flat_table)  # [*L, ..., C]
        out = F.embedding_bag(rows.reshape(-1, rest[-1]), flat_table, mode="sum")  # [m B, C]
        if bias is not None:
            out.view(m, -1, c).add_(bias.reshape(m, 1, c))
        # not a view of `out` (detached: the same storage) so the caller may work in place on it
        return out.view(*lead_shape, *rest[:-1], c).detach()

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        table, rows, bias, summed = inputs
        ctx.save_for_backward(rows)
        ctx.table_shape, ctx.summed, ctx.has_bias = table.shape, summed, bias is not None

    @staticmethod
    def backward(ctx, grad: Tensor):
        (rows,) = ctx.saved_tensors
        lead_shape, (v, c) = ctx.table_shape[:-2], ctx.table_shape[-2:]
        m = math.prod(lead_shape)
        k = rows.shape[-1] if ctx.summed else 1
        rows = _member_rows(rows, m, v)
        rows, grad = rows.reshape(-1, k), grad.reshape(-1, c)  # [m N, k], [m N, C]
        d_table = grad.new_zeros(m * v, c)
        for j in range(k):
            d_table.index_add_(0, rows[:, j], grad)
        d_bias = grad.view(m, -1, c).sum(1).view(*lead_shape, c) if ctx.has_bias else None
        return d_table.view(ctx.table_shape), None, d_bias, None

    @staticmethod
    def vmap(info, in_dims, table, rows, bias, summed):
        """The members' axis first on every tensor (broadcast where one is shared), as one
        more leading axis of the stacked tables."""
        n = info.batch_size

        def lead(x: Tensor | None, dim: int | None) -> Tensor | None:
            if x is None:
                return None
            return x.movedim(dim, 0) if dim is not None else x.expand(n, *x.shape)

        table_dim, rows_dim, bias_dim, _ = in_dims
        args = lead(table, table_dim), lead(rows, rows_dim), lead(bias, bias_dim)
        return _RowGather.apply(*args, summed), 0
