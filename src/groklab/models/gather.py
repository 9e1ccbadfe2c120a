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
batches) and so still trains the layer (tests/train/test_compile.py).
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


class _SumRows(torch.autograd.Function):
    """table [V, C], rows [N, k], bias [C] or [*L, C] (prod(L) members of N / prod(L) rows
    each, from the vmap rule) or None -> [N, C]: the forward and backward on one table, which
    the vmap rule makes of the members' stacked tables."""

    @staticmethod
    def forward(table: Tensor, rows: Tensor, bias: Tensor | None) -> Tensor:
        if torch.compiler.is_compiling():  # traced under vmap, not through the rule below:
            out = table.index_select(0, rows[:, 0])  # ops that vmap batches
            for j in range(1, rows.shape[1]):
                out = out + table.index_select(0, rows[:, j])
        else:  # [N, C], not a view: ReLU may work on it
            out = F.embedding_bag(rows, table, mode="sum")
        if bias is not None:  # [C], or [*L, C] for prod(L) members of N / prod(L) rows each
            c = out.shape[1]
            out.view(bias.numel() // c, -1, c).add_(bias.reshape(-1, 1, c))
        return out

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        table, rows, bias = inputs
        ctx.save_for_backward(rows)
        ctx.table_shape, ctx.bias_shape = table.shape, None if bias is None else bias.shape

    @staticmethod
    def backward(ctx, grad: Tensor):
        (rows,) = ctx.saved_tensors
        d_table = grad.new_zeros(ctx.table_shape)
        for j in range(rows.shape[1]):
            d_table.index_add_(0, rows[:, j], grad)
        if ctx.bias_shape is None:
            return d_table, None, None
        c = grad.shape[1]
        d_bias = grad.view(math.prod(ctx.bias_shape) // c, -1, c).sum(1).view(ctx.bias_shape)
        return d_table, None, d_bias

    @staticmethod
    def vmap(info, in_dims, table, rows, bias):
        """The members' tables [M, V, C] as one [M V, C] table, member m's rows offset by m V:
        one gather of M B bags and one index-add per column for the population."""
        n = info.batch_size
        table_dim, rows_dim, bias_dim = in_dims
        tables = (
            table.movedim(table_dim, 0) if table_dim is not None else table.expand(n, *table.shape)
        )
        v = tables.shape[1]
        rows = rows.movedim(rows_dim, 0) if rows_dim is not None else rows.expand(n, *rows.shape)
        offsets = torch.arange(0, n * v, v, device=rows.device).view(n, 1, 1)
        flat_rows = (rows + offsets).flatten(0, 1)  # [M B, k]
        if bias is not None:
            bias = (
                bias.movedim(bias_dim, 0) if bias_dim is not None else bias.expand(n, *bias.shape)
            )
        # the output is not a view of the table's; the reshapes around it are autograd's
        out = _SumRows.apply(tables.reshape(n * v, -1), flat_rows, bias)  # [M B, C]
        return out.view(n, -1, out.shape[1]), 0
