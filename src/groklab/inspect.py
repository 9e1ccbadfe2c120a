"""Look inside a built-in transformer: every activation, under TransformerLens's names.

    >>> model, task = groklab.load("r-0123456789", member=0)
    >>> logits, cache = run_with_cache(model, task.inputs[:8])    # logits [8, T, V]
    >>> cache["blocks.0.attn.hook_pattern"].shape                 # [B, H, Tq, Tk]
    torch.Size([8, 4, 4, 4])

`run_with_cache` re-walks the module's weights position by position, without the training
forward's shortcuts (that one scores the answer position only and skips the others in its last
block), so every position of every layer is there. It reads only the parameters, named as
TransformerLens names them (W_E, W_pos, blocks.{i}.attn.W_Q/W_K/W_V/W_O, b_Q/b_K/b_V/b_O,
blocks.{i}.mlp.W_in/b_in/W_out/b_out, ln1/ln2/ln_final .w/.b, W_U) and the model's spec.

The cache's names and shapes are TransformerLens's (`HookedTransformer.run_with_cache`):
`hook_embed`, `hook_pos_embed` [B, T, D]; per block i `blocks.{i}.hook_resid_pre`,
`hook_resid_mid`, `hook_resid_post`, `hook_attn_out`, `hook_mlp_out` [B, T, D];
`blocks.{i}.attn.hook_q/hook_k/hook_v/hook_z` [B, T, H, d_head]; `blocks.{i}.attn.hook_attn_scores`
(scaled, causally masked with -inf) and `hook_pattern` [B, H, Tq, Tk];
`blocks.{i}.mlp.hook_pre/hook_post` [B, T, d_mlp]; where a LayerNorm exists
`<ln>.hook_scale` [B, T, 1] and `<ln>.hook_normalized` [B, T, D] (after its weight and bias).

Post-LN blocks (`power2022`, Power et al.'s `x = LN(x + f(x))`) have no TransformerLens
counterpart; there `hook_resid_mid` is `ln1`'s output and `hook_resid_post` is `ln2`'s, the
residual stream as the next layer reads it.

`to_hooked_transformer` exports a pre-LN or no-LN model (`nanda2023`) to TransformerLens's
`HookedTransformer` (the `transformerlens` extra).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import GroklabError
from groklab.models.mlp import activation

TL_EXTRA = "pip install -c constraints.txt -e '.[transformerlens]'"
# groklab activation -> TransformerLens act_fn with the same function (F.gelu is exact in both)
TL_ACTIVATIONS = {"relu": "relu", "gelu": "gelu"}
LN_EPS = 1e-5  # models/transformer.py's LayerNorm, and TransformerLens's default eps


def _check_transformer(module: nn.Module) -> None:
    spec = getattr(module, "spec", None)
    if getattr(spec, "arch", None) != "transformer" or not hasattr(module, "blocks"):
        raise GroklabError(
            f"inspection reads groklab's transformers; got {type(module).__name__}"
            f"{'' if spec is None else f' (arch={spec.arch!r})'}; allowed: arch='transformer'"
        )


def _check_tokens(module: nn.Module, tokens: Tensor) -> None:
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
        raise GroklabError(f"tokens of shape {shape} given; allowed: integer tokens [B, T]")
    n_ctx, d_vocab = module.W_pos.shape[0], module.W_E.shape[0]
    lo, hi = (int(tokens.min()), int(tokens.max())) if tokens.numel() else (0, 0)
    if tokens.shape[1] > n_ctx or lo < 0 or hi >= d_vocab:
        raise GroklabError(
            f"tokens [B, T={tokens.shape[1]}] with ids {lo}..{hi} given; "
            f"allowed: T <= {n_ctx}, ids 0..{d_vocab - 1}"
        )


def _layer_norm(cache: dict[str, Tensor], name: str, x: Tensor, ln: nn.Module) -> Tensor:
    """LayerNorm written out as TransformerLens's, caching its scale and output."""
    x = x - x.mean(-1, keepdim=True)
    scale = (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt()  # [B, T, 1]
    out = x / scale * ln.w + ln.b
    cache[f"{name}.hook_scale"], cache[f"{name}.hook_normalized"] = scale, out
    return out


def _attention(cache: dict[str, Tensor], name: str, x: Tensor, attn: nn.Module) -> Tensor:
    """Causal multi-head attention of x [B, T, D] at every position -> [B, T, D]."""
    q = torch.einsum("btd,hde->bthe", x, attn.W_Q)  # [B, T, H, dh]
    k = torch.einsum("btd,hde->bthe", x, attn.W_K)
    v = torch.einsum("btd,hde->bthe", x, attn.W_V)
    if getattr(attn, "has_bias", False):
        q, k, v = q + attn.b_Q, k + attn.b_K, v + attn.b_V
    t, d_head = x.shape[1], q.shape[-1]
    scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(d_head)  # [B, H, Tq, Tk]
    causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    pattern = scores.softmax(-1)
    z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)  # [B, T, H, dh]
    out = torch.einsum("bqhe,hed->bqd", z, attn.W_O)  # [B, T, D]
    if getattr(attn, "has_bias", False):
        out = out + attn.b_O
    for hook, value in (("q", q), ("k", k), ("v", v), ("attn_scores", scores)):
        cache[f"{name}.hook_{hook}"] = value
    cache[f"{name}.hook_pattern"], cache[f"{name}.hook_z"] = pattern, z
    return out


def _mlp(cache: dict[str, Tensor], name: str, x: Tensor, mlp: nn.Module, act) -> Tensor:
    pre = x @ mlp.W_in  # [B, T, d_mlp]
    if getattr(mlp, "has_bias", False):
        pre = pre + mlp.b_in
    post = act(pre)
    out = post @ mlp.W_out
    if getattr(mlp, "has_bias", False):
        out = out + mlp.b_out
    cache[f"{name}.hook_pre"], cache[f"{name}.hook_post"] = pre, post
    return out


def _block(cache: dict[str, Tensor], i: int, x: Tensor, block: nn.Module, spec) -> Tensor:
    name = f"blocks.{i}"
    cache[f"{name}.hook_resid_pre"] = x
    attn_in = _layer_norm(cache, f"{name}.ln1", x, block.ln1) if spec.norm == "pre" else x
    attn_out = _attention(cache, f"{name}.attn", attn_in, block.attn)
    cache[f"{name}.hook_attn_out"] = attn_out
    x = x + attn_out
    if spec.norm == "post":  # Power et al.'s x = LN(x + f(x)): the stream is the LN's output
        x = _layer_norm(cache, f"{name}.ln1", x, block.ln1)
    cache[f"{name}.hook_resid_mid"] = x
    mlp_in = _layer_norm(cache, f"{name}.ln2", x, block.ln2) if spec.norm == "pre" else x
    mlp_out = _mlp(cache, f"{name}.mlp", mlp_in, block.mlp, activation(spec))
    cache[f"{name}.hook_mlp_out"] = mlp_out
    x = x + mlp_out
    if spec.norm == "post":
        x = _layer_norm(cache, f"{name}.ln2", x, block.ln2)
    cache[f"{name}.hook_resid_post"] = x
    return x


@torch.no_grad()
def run_with_cache(module: nn.Module, tokens: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """tokens [B, T] -> (logits at every position [B, T, V], {TransformerLens name: activation}).

    `logits[:, -1]` equals the training forward `module(tokens)` (the answer position); the
    activations are detached, in the module's dtype, in the order the forward computes them.
    """
    _check_transformer(module)
    _check_tokens(module, tokens)
    spec = module.spec
    cache: dict[str, Tensor] = {}
    embed = F.embedding(tokens, module.W_E)  # [B, T, D]
    pos = module.W_pos[: tokens.shape[1]].detach().expand_as(embed)  # [B, T, D]
    cache["hook_embed"], cache["hook_pos_embed"] = embed, pos
    x = embed + pos
    for i, block in enumerate(module.blocks):
        x = _block(cache, i, x, block, spec)
    if spec.norm == "pre":
        x = _layer_norm(cache, "ln_final", x, module.ln_final)
    return x @ module.W_U, cache  # [B, T, V]
