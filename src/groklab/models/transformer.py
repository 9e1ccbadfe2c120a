"""A decoder-only transformer for one member, read top to bottom (Power et al. 2022, Sec. 2).

The input is `x op y =` and only the answer position is ever scored, so `forward` returns the
logits of the last position, `[B, V]`. Two exact rewrites make that cheap (together about
1.4x on the Power step at B = 512 on CPU; tests/models/test_transformer.py checks them against
the plain computation):
- the last block needs keys and values at every position but queries, the output projection,
  the MLP and the unembedding only at the last position;
- when nothing normalizes the embedding before the first attention (post-LN or no LN), its
  query/key/value projection is linear in (token, position), so it is looked up from the
  projected token and position tables instead of multiplying every [B, T, D] row.
Parameter names follow TransformerLens: W_E, W_pos, blocks.{i}.attn.W_Q/W_K/W_V/W_O,
blocks.{i}.mlp.W_in/b_in/W_out/b_out, W_U.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models.mlp import ACTIVATIONS
from groklab.spec import ModelSpec


def _uniform(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> nn.Parameter:
    """PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=gen))


def _weight(
    shape: tuple[int, ...], fan_in: int, spec: ModelSpec, gen: torch.Generator
) -> nn.Parameter:
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
        self.W_Q = _weight((h, d, dh), d, spec, gen)
        self.W_K = _weight((h, d, dh), d, spec, gen)
        self.W_V = _weight((h, d, dh), d, spec, gen)
        self.W_O = _weight((h, dh, d), d, spec, gen)
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

    def forward(self, qkv: Tensor, *, last_only: bool) -> Tensor:
        """qkv [B, T, 3D] -> attention output [B, T, D] (or [B, D] for the last query only)."""
        b, t, _ = qkv.shape
        q, k, v = (z.reshape(b, t, self.n_heads, -1) for z in qkv.split(qkv.shape[-1] // 3, dim=-1))
        scale = 1.0 / math.sqrt(q.shape[-1])
        # T is 3-5: broadcasting beats tiny batched matmuls (and CPU SDPA) by ~4x here, because
        # batched matmuls of a few rows run at under 10 GFLOP/s.
        if last_only:
            scores = (q[:, -1, None] * k).sum(-1) * scale  # [B, T, H]
            pattern = scores.softmax(dim=1)
            z = (pattern[..., None] * v).sum(1)  # [B, H, dh]
        else:
            scores = (q[:, :, None] * k[:, None]).sum(-1) * scale  # [B, Tq, Tk, H]
            causal = torch.ones(t, t, dtype=torch.bool, device=qkv.device).tril()
            scores = scores.masked_fill(~causal[:, :, None], float("-inf"))
            pattern = scores.softmax(dim=2)
            z = (pattern[..., None] * v[:, None]).sum(2)  # [B, T, H, dh]
        out = z.flatten(-2) @ self.W_O.flatten(0, 1)  # [B, (T,) D]
        return out + self.b_O if self.has_bias else out


class MLP(nn.Module):
    def __init__(self, spec: ModelSpec, gen: torch.Generator) -> None:
        super().__init__()
        d, m = spec.d_model, spec.d_mlp
        self.W_in = _weight((d, m), d, spec, gen)
        self.W_out = _weight((m, d), m, spec, gen)
        self.has_bias = spec.mlp_bias
        if spec.mlp_bias:
            self.b_in = _bias((m,), d, spec, gen)
            self.b_out = _bias((d,), m, spec, gen)
        self.act = ACTIVATIONS[spec.act]

    def forward(self, x: Tensor) -> Tensor:
        h = x @ self.W_in
        h = self.act(h + self.b_in if self.has_bias else h)
        out = h @ self.W_out
        return out + self.b_out if self.has_bias else out


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

    def forward(self, x: Tensor, qkv: Tensor, *, last_only: bool, keep: Tensor | None) -> Tensor:
        """x [B, T, D] residual, qkv its projection -> [B, T, D] (or [B, D] if last_only)."""
        attn = self.attn(qkv, last_only=last_only)
        resid = x[:, -1] if last_only else x
        if self.norm == "post":  # Power et al.'s official code: x = LN(x + f(x))
            resid = self.ln1(resid + attn)
            return self.ln2(resid + self._mlp(resid, keep))
        resid = resid + attn
        mlp_in = self.ln2(resid) if self.norm == "pre" else resid
        return resid + self._mlp(mlp_in, keep)

    def _mlp(self, x: Tensor, keep: Tensor | None) -> Tensor:
        out = self.mlp(x)
        if keep is None:  # dropout after the MLP only (official code); masks come from the trainer
            return out
        return out * (keep[:, -1] if out.dim() == 2 else keep)


class Transformer(nn.Module):
    """Decoder-only transformer for one member; `forward(tokens [B, T]) -> logits [B, V]`."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        d_vocab: int,
        n_ctx: int,
        d_out: int,
        generator: torch.Generator,
        input_shape: tuple[int, ...] = (),
    ) -> None:
        super().__init__()
        del input_shape  # tokens [B, n_ctx]
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
                _weight((n_ctx, d), d, spec, generator)
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
            else _weight((d, d_out), d, spec, generator)
        )

    def forward(self, tokens: Tensor, keep: Tensor | None = None) -> Tensor:
        """tokens [B, T] -> answer logits [B, V]; keep [L, B, T, D] dropout masks
        (0 or 1 / (1 - p)) or None."""
        t = tokens.shape[1]
        x = F.embedding(tokens, self.W_E) + self.W_pos[:t]  # [B, T, D]
        first = self.blocks[0]
        if self.spec.norm == "pre":
            qkv = first.qkv(x)
        else:  # exact: (W_E[tok] + W_pos[t]) @ W_qkv = (W_E @ W_qkv)[tok] + (W_pos @ W_qkv)[t]
            w = first.attn.w_qkv()
            qkv = F.embedding(tokens, self.W_E @ w) + self.W_pos[:t] @ w  # [B, T, 3D]
            b = first.attn.b_qkv()
            qkv = qkv if b is None else qkv + b
        n = len(self.blocks)
        for i, block in enumerate(self.blocks):
            if i:
                qkv = block.qkv(x)
            x = block(x, qkv, last_only=i == n - 1, keep=None if keep is None else keep[i])
        if self.spec.norm == "pre":
            x = self.ln_final(x)
        return x @ self.W_U  # [B, V]
