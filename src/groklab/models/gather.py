"""A sum of gathered rows whose backward adds into the table, for tables a population stacks.

A one-hot input's product with a weight is a sum of the weight's rows (the one-hot MLP's first
layer: rows x and n + y of its transposed weight). A population runs the member's model under
`torch.func.vmap`, where a member's table [V, C] becomes the population's [M, V, C]; gathering
its rows through the embedding kernel sorts the indices in the backward, and each column's
gather makes its own [M, B, C] tensor before they are added. Here the population's tables are
one [M V, C] table, member m's rows offset by m V: one bag sum of k rows per example forward
(`F.embedding_bag`), one `index_add_` per column backward. Where the columns gather disjoint
rows (the one-hot layer's) the values and gradients are the embedding kernel's to the bit
(tests/models/test_gather.py); each row's gradient is summed in the examples' order, whatever
the number of threads. At M = 16 on prieto2025's task it takes 4 % off a member-step
(benchmarks/RESULTS.md §28).

Under `torch.compile` the function's forward is traced under vmap instead of through its vmap
rule, and differentiated by AOTAutograd; there it gathers with `index_select` (which vmap
batches), with no detached alias that would cut the layer off from its gradient
(tests/train/test_compile.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def sum_rows(table: Tensor, rows: Tensor, bias: Tensor | None = None) -> Tensor:
    """table [V, C], rows int64 [B, k] -> sum_j table[rows[:, j]] (+ bias [C]) [B, C], summed
    in the order of j, the bias last."""
    return _SumRows.apply(table, rows, bias)


def _member_rows(rows: Tensor, m: int, v: int) -> Tensor:
    """rows [*L, B, k] of m = prod(L) stacked tables of V rows each -> rows of the flattened
    [m V, C] table, [m B, k]."""
    rows = rows.reshape(-1, rows.shape[-1])
    if m == 1:
        return rows
    offsets = torch.arange(0, m * v, v, device=rows.device)
    return (rows.view(m, -1, rows.shape[-1]) + offsets[:, None, None]).flatten(0, 1)


class _SumRows(torch.autograd.Function):
    """table [*L, V, C], rows [*L, B, k], bias [*L, C] or None (L: the members' axes the vmap
    rule added, empty for one member) -> [*L, B, C]."""

    @staticmethod
    def forward(table: Tensor, rows: Tensor, bias: Tensor | None) -> Tensor:
        if torch.compiler.is_compiling():  # traced under vmap, not through the rule below:
            out = table.index_select(0, rows[:, 0])  # ops that vmap batches, on [V, C]
            for j in range(1, rows.shape[1]):
                out = out + table.index_select(0, rows[:, j])
            return out if bias is None else out + bias
        lead, (v, c) = table.shape[:-2], table.shape[-2:]
        m = math.prod(lead)
        flat_rows = _member_rows(rows, m, v)  # [m B, k]
        out = F.embedding_bag(flat_rows, table.reshape(m * v, c), mode="sum")  # [m B, C]
        if bias is not None:
            out.view(m, -1, c).add_(bias.reshape(m, 1, c))
        # detached: the same storage but not a view, so the caller may work on it in place (a
        # view of the output would make autograd rebase an in-place ReLU through a copy)
        return out.view(*lead, -1, c).detach()

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        table, rows, bias = inputs
        ctx.save_for_backward(rows)
        ctx.table_shape, ctx.has_bias = table.shape, bias is not None

    @staticmethod
    def backward(ctx, grad: Tensor):
        (rows,) = ctx.saved_tensors
        lead, (v, c) = ctx.table_shape[:-2], ctx.table_shape[-2:]
        m = math.prod(lead)
        flat_rows, grad = _member_rows(rows, m, v), grad.reshape(-1, c)  # [m B, k], [m B, C]
        d_table = grad.new_zeros(m * v, c)
        for j in range(flat_rows.shape[1]):
            d_table.index_add_(0, flat_rows[:, j], grad)
        d_bias = grad.view(m, -1, c).sum(1).view(*lead, c) if ctx.has_bias else None
        return d_table.view(ctx.table_shape), None, d_bias

    @staticmethod
    def vmap(info, in_dims, table, rows, bias):
        """The members' axis first on every tensor (broadcast where one is shared), as one
        more leading axis of the stacked tables."""

        def lead(x: Tensor | None, dim: int | None) -> Tensor | None:
            if x is None:
                return None
            return x.movedim(dim, 0) if dim is not None else x.expand(info.batch_size, *x.shape)

        return _SumRows.apply(*map(lead, (table, rows, bias), in_dims)), 0
