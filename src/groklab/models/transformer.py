"""A decoder-only transformer for one member, read top to bottom (Power et al. 2022, Sec. 2).

The input is `x op y =` (or Nanda et al.'s `x y =`) and only the answer position is ever
scored, so `forward` returns the logits of the last position, `[B, V]`. Exact rewrites make that
cheap; tests/models/test_transformer.py checks each against the plain dense computation (same
logits and gradients to float32 round-off):
- the last block needs keys and values at every position but queries, the output projection,
  the MLP and the unembedding only at the last position;
- when nothing normalizes the embedding before the first attention (post-LN or no LN), its
  query/key/value projection is linear in (token, position), so it is looked up from the
  projected token and position tables instead of multiplying every [B, T, D] row;
- attention is causal, so every block at positions 0..k-1 depends on those k tokens alone. When
  the tokens at positions 1..k-1 are the same in every input (Power's op token: k = 2), that
  prefix is a function of the first token: it is computed once per vocabulary entry (a [V, k]
  table) and its keys and values are gathered per example (`share_prefix`; the trainer turns it
  on from the task's inputs). The other positions attend to the gathered keys, scoring only
  the causal (query, key) pairs of their own queries. Dropout masks differ per example, so a
  forward with `keep` masks takes the dense path;
- with one block (Nanda et al.'s model) and the same answer token in every input (`=`), the only
  query scored is one row for every example: each key position's scores against it are a
  [V, H] table gathered per example, its values a gathered [V, D] table, and the answer
  position's residual one row (`_forward_scored_tables`), so no per-example key, score or
  residual is made.
Parameter names follow TransformerLens: W_E, W_pos, blocks.{i}.attn.W_Q/W_K/W_V/W_O,
blocks.{i}.mlp.W_in/b_in/W_out/b_out, W_U.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models.blocks import Block, LayerNorm, init_weight, sinusoidal_positions
from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec


class Transformer(nn.Module):
    """Decoder-only transformer for one member; `forward(tokens [B, T]) -> logits [B, V]`."""

    # named parameter groups for [optim] group_lr / group_weight_decay (models/build.py)
    PARAMETER_GROUPS = {
        "embed": ("W_E", "W_pos"),
        "blocks": ("blocks.",),
        "unembed": ("W_U", "ln_final."),
    }

    def __init__(self, spec: ModelSpec, shape: TaskShape, generator: torch.Generator) -> None:
        super().__init__()
        d_vocab, n_ctx, d_out = shape.d_vocab, shape.n_ctx, shape.d_out  # tokens [B, n_ctx]
        self.spec = spec
        d = spec.d_model
        # nn.Embedding's default is N(0, 1).
        self.W_E = nn.Parameter(
            torch.randn(d_vocab, d, generator=generator)
            if spec.init == "default"
            else torch.randn(d_vocab, d, generator=generator) / math.sqrt(d)
        )
        if spec.positions == "learned":
            self.W_pos = (
                init_weight((n_ctx, d), d, spec, generator)
                if spec.init != "default"
                else nn.Parameter(torch.randn(n_ctx, d, generator=generator))
            )
        else:
            self.register_buffer("W_pos", sinusoidal_positions(n_ctx, d), persistent=False)
        self.blocks = nn.ModuleList(Block(spec, generator) for _ in range(spec.n_layers))
        if spec.norm == "pre":
            self.ln_final = LayerNorm(d)
        self.W_U = (  # Nanda et al.'s code: W_U ~ N(0, 1) / sqrt(d_vocab)
            nn.Parameter(torch.randn(d, d_out, generator=generator) / math.sqrt(d_vocab))
            if spec.init == "normal_vocab"
            else init_weight((d, d_out), d, spec, generator)
        )
        self.register_buffer("prefix", torch.zeros(0, 0, dtype=torch.long), persistent=False)
        self.answer_token = -1  # the last position's token where every input has the same
        self.score_tables = True  # one block and answer_token: attention scored on tables

    def share_prefix(self, inputs: Tensor) -> int:
        """Turn on the shared-prefix rewrite for inputs like these [N, T] (all that will be fed):
        k = 1 + the number of positions after the first whose token is the same in every row,
        at most T - 1. Returns k (1 for Nanda's `x y =`, 2 for Power's `x op y =`)."""
        t, k = inputs.shape[1], 1
        while k < t - 1 and bool((inputs[:, k] == inputs[0, k]).all()):
            k += 1
        first = torch.arange(self.W_E.shape[0], device=inputs.device)[:, None]  # [V, 1]
        self.prefix = torch.cat([first, inputs[:1, 1:k].expand(len(first), -1)], 1)  # [V, k]
        last = inputs[0, -1]
        scored = len(self.blocks) == 1 and self.spec.norm != "pre" and t > 1
        self.answer_token = int(last) if scored and bool((inputs[:, -1] == last).all()) else -1
        return k

    def forward(self, tokens: Tensor, keep: Tensor | None = None) -> Tensor:
        """tokens [B, T] -> answer logits [B, V]; keep [L, B, T, D] dropout masks
        (0 or 1 / (1 - p)) or None."""
        k = self.prefix.shape[1]
        if keep is None and self.answer_token >= 0 and self.score_tables:
            x = self._forward_scored_tables(tokens)
        elif keep is None and 0 < k < tokens.shape[1]:
            x = self._forward_shared_prefix(tokens)
        else:
            x = self._forward_dense(tokens, keep)
        if self.spec.norm == "pre":
            x = self.ln_final(x)
        return x @ self.W_U  # [B, V]

    def _qkv_tables(self, t: int) -> tuple[Tensor, Tensor] | None:
        """The first block's q, k, v as a token table [V, 3D] and a position table [T, 3D], the
        biases folded into the latter; None where a LayerNorm comes first (pre-norm). Exact
        otherwise: (W_E[tok] + W_pos[t]) @ W_qkv = (W_E @ W_qkv)[tok] + (W_pos @ W_qkv)[t], two
        small products instead of a [B, T, D] x [D, 3D] one. Made once per forward."""
        if self.spec.norm == "pre":
            return None
        w, b = self.blocks[0].attn.w_qkv(), self.blocks[0].attn.b_qkv()
        pos = self.W_pos[:t] @ w
        return self.W_E @ w, pos if b is None else pos + b

    def _qkv(
        self,
        i: int,
        block: Block,
        x: Tensor,
        tokens: Tensor,
        at: slice,
        *,
        last_query: bool,
        tables: tuple[Tensor, Tensor] | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Block i's q, k, v [B, T', D] at positions `at` of `tokens` [B, T'] (whose residual
        is x), the query only at the last of them if `last_query`: for the first block from
        `tables` (`_qkv_tables`) where given, gathered table by table, so the backward adds
        into [V, D] tables instead of concatenating [B, T', 3D] gradients; else from x."""
        d = self.spec.d_model
        if i == 0 and tables is not None:
            tok_qkv, pos_qkv = tables
            (tok_q, tok_k, tok_v), (pos_q, pos_k, pos_v) = (
                tok_qkv.split(d, -1),
                pos_qkv[at].split(d, -1),
            )
            if last_query:
                q = F.embedding(tokens[:, -1:], tok_q) + pos_q[-1:]
            else:
                q = F.embedding(tokens, tok_q) + pos_q
            return q, F.embedding(tokens, tok_k) + pos_k, F.embedding(tokens, tok_v) + pos_v
        q, k, v = block.qkv(x).split(d, dim=-1)
        return (q[:, -1:] if last_query else q), k, v

    def _forward_dense(self, tokens: Tensor, keep: Tensor | None) -> Tensor:
        """Every position of every example -> the last block's last-position output [B, D]."""
        t = tokens.shape[1]
        x = F.embedding(tokens, self.W_E) + self.W_pos[:t]  # [B, T, D]
        n, tables = len(self.blocks), self._qkv_tables(t)
        for i, block in enumerate(self.blocks):
            last = i == n - 1  # only the last position's output is scored
            q, k, v = self._qkv(  # [B, T, D] each
                i, block, x, tokens, slice(0, t), last_query=last, tables=tables
            )
            mask = None if keep is None else keep[i]  # [B, T, D]
            if last:
                mask = None if mask is None else mask[:, -1:]
                x = block(x[:, -1:], q, [k], [v], offset=t - 1, keep=mask)
            else:
                x = block(x, q, [k], [v], offset=0, keep=mask)
        return x[:, 0]

    def _forward_shared_prefix(self, tokens: Tensor) -> Tensor:
        """The prefix 0..k-1 once per first token (the [V, k] table `self.prefix`), the rest per
        example attending to the gathered prefix keys -> last block's last-position output.
        The last block needs its query at the last position only."""
        t, k = tokens.shape[1], self.prefix.shape[1]
        pre, rest = self.prefix, tokens[:, k:]  # [V, k], [B, T - k]
        first = tokens[:, 0]  # [B] each example's row of the prefix table
        x_pre = F.embedding(pre, self.W_E) + self.W_pos[:k]  # [V, k, D]
        x = F.embedding(rest, self.W_E) + self.W_pos[k:t]  # [B, T - k, D]
        n, tables = len(self.blocks), self._qkv_tables(t)
        for i, block in enumerate(self.blocks):
            last = i == n - 1
            q_pre, k_pre, v_pre = self._qkv(
                i, block, x_pre, pre, slice(0, k), last_query=last, tables=tables
            )
            q, k_rest, v_rest = self._qkv(
                i, block, x, rest, slice(k, t), last_query=last, tables=tables
            )
            keys = [_gather_rows(k_pre, first), k_rest]  # [B, k, D], [B, T - k, D]
            values = [_gather_rows(v_pre, first), v_rest]
            if last:
                x = block(x[:, -1:], q, keys, values, offset=t - 1, keep=None)
            else:
                x_pre = block(x_pre, q_pre, [k_pre], [v_pre], offset=0, keep=None)
                x = block(x, q, keys, values, offset=k, keep=None)
        return x[:, 0]

    def _forward_scored_tables(self, tokens: Tensor) -> Tensor:
        """One block whose query, at the answer position, is the same for every input (its
        token `answer_token` is): each key position's scores are a [V, H] table of the
        projected token table against that query, gathered per example, and its values are
        gathered from a [V, D] table, so no per-example key, query or score product is made;
        the answer position's residual, value and their projections are one row. -> the
        block's output [B, D]."""
        t, e = tokens.shape[1], self.answer_token
        block = self.blocks[0]
        h = block.attn.n_heads
        tok_qkv, pos_qkv = self._qkv_tables(t)  # [V, 3D], [T, 3D]
        (tok_q, tok_k, tok_v), (pos_q, pos_k, pos_v) = tok_qkv.chunk(3, -1), pos_qkv.chunk(3, -1)
        q = (tok_q[e] + pos_q[-1]).view(h, -1)  # [H, dh]
        v_last = tok_v[e] + pos_v[-1]  # [D] the answer position's value
        scale, n, v = math.sqrt(q.shape[-1]), t - 1, len(tok_k)  # n positions whose token varies
        # one [n * V, .] table for them all, row j * V + token: one gather and one index-add each
        rows = tokens[:, :n] + torch.arange(0, n * v, v, device=tokens.device)  # [B, n]
        keys = (tok_k + pos_k[:n, None]).view(n, v, h, -1)  # [n, V, H, dh]
        # index_select, not the embedding kernel: the same rows and gradient to the bit, but
        # its backward is an index-add where the embedding's sorts the indices first (the
        # [n V, H] table is narrow: the sort was most of the gather's cost)
        table = ((keys * q).sum(-1) / scale).flatten(0, 1)  # [n V, H]
        scores = table.index_select(0, rows.flatten()).view(*rows.shape, h)  # [B, n, H]
        # each head's weights sum to 1, so its output is v_last + sum_j a_j (v_j - v_last):
        # values relative to the answer position's, which enters once, as a row
        values = F.embedding(rows, (tok_v + (pos_v[:n, None] - v_last)).flatten(0, 1))  # [B, n, D]
        last_key = (tok_k[e] + pos_k[-1]).view(h, -1)
        last_score = ((last_key * q).sum(-1) / scale).expand(len(tokens), 1, h)
        pattern = torch.cat([scores, last_score], 1).softmax(1)  # [B, T, H]
        values = values.view(len(tokens), n, h, -1)  # [B, n, H, dh]
        z = pattern[:, 0, :, None] * values[:, 0]  # [B, H, dh]
        for j in range(1, n):
            z = torch.addcmul(z, pattern[:, j, :, None], values[:, j])
        row = self.W_E[e] + self.W_pos[t - 1] + block.attn.project(v_last)  # [D]
        return block.finish(block.attn.project(z.flatten(1), bias=False) + row, None)


def _gather_rows(table: Tensor, rows: Tensor) -> Tensor:
    """table [V, k, D], rows [B] -> table[rows] [B, k, D], through the embedding kernel (its
    backward is an index-add into the table)."""
    return F.embedding(rows, table.flatten(1)).view(len(rows), *table.shape[1:])
