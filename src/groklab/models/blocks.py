"""The transformer's parts for one member (models/transformer.py puts them together): the
LayerNorm, the attention, the MLP and the block, with their initial draws.

Each part is the textbook computation; the Transformer's exact rewrites call into their pieces
(`Attention.project`, `Block.finish`) so that a rewritten path and the dense one share them.
Parameter names follow TransformerLens (W_Q, W_K, W_V, W_O; W_in, b_in, W_out, b_out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models.mlp import ACTIVATIONS, act_fresh
from groklab.spec import ModelSpec


def _uniform(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> nn.Parameter:
    """PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=gen))


def init_weight(
    shape: tuple[int, ...], fan_in: int, spec: ModelSpec, gen: torch.Generator
) -> nn.Parameter:
    """A weight drawn as the spec's init asks, from the member's generator."""
    if spec.init != "default":  # Nanda et al. 2023: N(0, 1) / sqrt(d_model)
        return nn.Parameter(torch.randn(shape, generator=gen) / math.sqrt(spec.d_model))
    return _uniform(shape, fan_in, gen)


def _bias(
    shape: tuple[int, ...], fan_in: int, spec: ModelSpec, gen: torch.Generator
) -> nn.Parameter:
    if spec.init != "default":
        return nn.Parameter(torch.zeros(shape))
    return _uniform(shape, fan_in, gen)


def sinusoidal_positions(n_ctx: int, d_model: int) -> Tensor:
    """Vaswani et al. 2017 fixed positions, [T, D]."""
    pos = torch.arange(n_ctx, dtype=torch.float64)[:, None]
    freq = torch.exp(
        -math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model
    )
    table = torch.zeros(n_ctx, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
    return table.float()


class LayerNorm(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w, self.b, eps=1e-5)


class Attention(nn.Module):
    def __init__(self, spec: ModelSpec, gen: torch.Generator) -> None:
        super().__init__()
        h, d, dh = spec.n_heads, spec.d_model, spec.d_head
        self.n_heads = h
        self.W_Q = init_weight((h, d, dh), d, spec, gen)
        self.W_K = init_weight((h, d, dh), d, spec, gen)
        self.W_V = init_weight((h, d, dh), d, spec, gen)
        self.W_O = init_weight((h, dh, d), d, spec, gen)
        self.has_bias = spec.attn_bias
        if spec.attn_bias:
            self.b_Q = _bias((h, dh), d, spec, gen)
            self.b_K = _bias((h, dh), d, spec, gen)
            self.b_V = _bias((h, dh), d, spec, gen)
            self.b_O = _bias((d,), d, spec, gen)

    def w_qkv(self) -> Tensor:
        """[D, 3D]: Q, K, V projections side by side, heads contiguous within each."""
        d = self.W_Q.shape[1]
        return torch.cat(
            [w.permute(1, 0, 2).reshape(d, -1) for w in (self.W_Q, self.W_K, self.W_V)], 1
        )

    def b_qkv(self) -> Tensor | None:
        return (
            torch.cat([self.b_Q.flatten(), self.b_K.flatten(), self.b_V.flatten()])
            if self.has_bias
            else None
        )

    def forward(
        self, q: Tensor, keys: Sequence[Tensor], values: Sequence[Tensor], *, offset: int
    ) -> Tensor:
        """q [B, S, D] queries at positions offset..offset+S-1; the keys and values at positions
        0..T-1, each given in parts along T ([B, T_i, D], e.g. a shared prefix's and the rest's,
        so no [B, T, D] is concatenated) -> attention output [B, S, D]; each query sees the keys
        up to its own position, so only the causal (query, key) pairs of these queries are
        scored."""
        b, s, _ = q.shape
        h = self.n_heads
        q = q.reshape(b, s, h, -1)
        # T is 3-5: broadcasting beats tiny batched matmuls (and CPU SDPA) by ~4x here, because
        # batched matmuls of a few rows run at under 10 GFLOP/s.
        scores = [
            (q[:, :, None] * k.reshape(b, k.shape[1], h, -1)[:, None]).sum(-1) for k in keys
        ]  # each [B, S, T_i, H]
        scores = (scores[0] if len(scores) == 1 else torch.cat(scores, 2)) / math.sqrt(q.shape[-1])
        t = scores.shape[2]
        if offset < t - 1:  # some key lies after some query
            query_at = torch.arange(offset, offset + s, device=q.device)[:, None]
            seen = torch.arange(t, device=q.device) <= query_at  # [S, T]
            scores = scores.masked_fill(~seen[:, :, None], float("-inf"))
        pattern = scores.softmax(dim=2)
        z, start = None, 0
        for v in values:  # sum over T of pattern x values, part by part: [B, S, H, dh]
            part = v.shape[1]
            v = v.reshape(b, part, h, -1)[:, None]
            term = (pattern[:, :, start : start + part, :, None] * v).sum(2)
            z, start = term if z is None else z + term, start + part
        return self.project(z.flatten(-2))  # [B, S, D]

    def project(self, z: Tensor, *, bias: bool = True) -> Tensor:
        """The heads' outputs side by side [..., H * dh] -> the attention's output [..., D]
        (without its bias where `bias` is False)."""
        out = z @ self.W_O.flatten(0, 1)
        return out + self.b_O if self.has_bias and bias else out


class MLP(nn.Module):
    def __init__(self, spec: ModelSpec, gen: torch.Generator) -> None:
        super().__init__()
        d, m = spec.d_model, spec.d_mlp
        self.W_in = init_weight((d, m), d, spec, gen)
        self.W_out = init_weight((m, d), m, spec, gen)
        self.has_bias = spec.mlp_bias
        if spec.mlp_bias:
            self.b_in = _bias((m,), d, spec, gen)
            self.b_out = _bias((d,), m, spec, gen)
        self.act = ACTIVATIONS[spec.act]

    def forward(self, x: Tensor) -> Tensor:
        # the biases and the ReLU in place on the products' fresh outputs (a product's backward
        # keeps its inputs, not its output): the same values, fewer [B, width] allocations. Not
        # under autocast, where a product is bf16 and its bias float32: the sum is float32.
        h = x @ self.W_in
        h = act_fresh(self.act, _plus_bias(h, self.b_in) if self.has_bias else h)
        out = h @ self.W_out
        return _plus_bias(out, self.b_out) if self.has_bias else out


def _plus_bias(fresh: Tensor, bias: Tensor) -> Tensor:
    """fresh + bias, in place on a product's fresh output where the dtypes match."""
    return fresh.add_(bias) if fresh.dtype == bias.dtype else fresh + bias


class Block(nn.Module):
    def __init__(self, spec: ModelSpec, gen: torch.Generator) -> None:
        super().__init__()
        self.norm = spec.norm
        self.attn = Attention(spec, gen)
        self.mlp = MLP(spec, gen)
        if spec.norm != "none":
            self.ln1 = LayerNorm(spec.d_model)
            self.ln2 = LayerNorm(spec.d_model)

    def qkv(self, x: Tensor) -> Tensor:
        if self.norm == "pre":
            x = self.ln1(x)
        out = x @ self.attn.w_qkv()
        b = self.attn.b_qkv()
        return out if b is None else out + b

    def forward(
        self,
        x: Tensor,
        q: Tensor,
        keys: Sequence[Tensor],
        values: Sequence[Tensor],
        *,
        offset: int,
        keep: Tensor | None,
    ) -> Tensor:
        """x [B, S, D] the residual at positions offset..offset+S-1, q [B, S, D] their queries,
        keys and values at 0..T-1 in parts along T ([B, T_i, D] each), keep [B, S, D] or None
        -> [B, S, D]."""
        return self.finish(x + self.attn(q, keys, values, offset=offset), keep)

    def finish(self, resid: Tensor, keep: Tensor | None) -> Tensor:
        """The block after its attention, from the residual plus the attention's output."""
        if self.norm == "post":  # Power et al.'s official code: x = LN(x + f(x))
            resid = self.ln1(resid)
            return self.ln2(resid + self._mlp(resid, keep))
        mlp_in = self.ln2(resid) if self.norm == "pre" else resid
        return resid + self._mlp(mlp_in, keep)

    def _mlp(self, x: Tensor, keep: Tensor | None) -> Tensor:
        out = self.mlp(x)  # dropout after the MLP only (official code); masks from the trainer
        return out if keep is None else out * keep
