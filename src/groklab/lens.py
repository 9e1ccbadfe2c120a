"""Look inside a built-in transformer: every activation, under TransformerLens's names.

    >>> model, task = groklab.load("r-0123456789", member=0)
    >>> logits, cache = run_with_cache(model, task.inputs[:8])    # logits [8, T, V]
    >>> cache["blocks.0.attn.hook_pattern"].shape                 # [B, H, Tq, Tk]
    torch.Size([8, 4, 4, 4])

`run_with_cache` re-walks the module's weights position by position, without the training
forward's shortcuts (that one scores the answer position only and skips the others in its last
block), so every position of every layer is there. It reads only the parameters, named as
TransformerLens names them (W_E, W_pos, blocks.{i}.attn.W_Q/W_K/W_V/W_O, b_Q/b_K/b_V/b_O,
blocks.{i}.mlp.W_in/b_in/W_out/b_out, ln1/ln2/ln_final .w/.b, W_U) and the model's spec
(`norm`, `act`, `attn_bias`, `mlp_bias`).

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
import warnings

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


def _attention(
    cache: dict[str, Tensor], name: str, x: Tensor, attn: nn.Module, *, bias: bool
) -> Tensor:
    """Causal multi-head attention of x [B, T, D] at every position -> [B, T, D]."""
    q = torch.einsum("btd,hde->bthe", x, attn.W_Q)  # [B, T, H, dh]
    k = torch.einsum("btd,hde->bthe", x, attn.W_K)
    v = torch.einsum("btd,hde->bthe", x, attn.W_V)
    if bias:
        q, k, v = q + attn.b_Q, k + attn.b_K, v + attn.b_V
    t, d_head = x.shape[1], q.shape[-1]
    scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(d_head)  # [B, H, Tq, Tk]
    causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    pattern = scores.softmax(-1)
    z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)  # [B, T, H, dh]
    out = torch.einsum("bqhe,hed->bqd", z, attn.W_O)  # [B, T, D]
    if bias:
        out = out + attn.b_O
    for hook, value in (("q", q), ("k", k), ("v", v), ("attn_scores", scores)):
        cache[f"{name}.hook_{hook}"] = value
    cache[f"{name}.hook_pattern"], cache[f"{name}.hook_z"] = pattern, z
    return out


def _mlp(cache: dict[str, Tensor], name: str, x: Tensor, mlp: nn.Module, spec) -> Tensor:
    pre = x @ mlp.W_in  # [B, T, d_mlp]
    if spec.mlp_bias:
        pre = pre + mlp.b_in
    post = activation(spec)(pre)
    out = post @ mlp.W_out
    if spec.mlp_bias:
        out = out + mlp.b_out
    cache[f"{name}.hook_pre"], cache[f"{name}.hook_post"] = pre, post
    return out


def _block(cache: dict[str, Tensor], i: int, x: Tensor, block: nn.Module, spec) -> Tensor:
    name = f"blocks.{i}"
    cache[f"{name}.hook_resid_pre"] = x
    attn_in = _layer_norm(cache, f"{name}.ln1", x, block.ln1) if spec.norm == "pre" else x
    attn_out = _attention(cache, f"{name}.attn", attn_in, block.attn, bias=spec.attn_bias)
    cache[f"{name}.hook_attn_out"] = attn_out
    x = x + attn_out
    if spec.norm == "post":  # Power et al.'s x = LN(x + f(x)): the stream is the LN's output
        x = _layer_norm(cache, f"{name}.ln1", x, block.ln1)
    cache[f"{name}.hook_resid_mid"] = x
    mlp_in = _layer_norm(cache, f"{name}.ln2", x, block.ln2) if spec.norm == "pre" else x
    mlp_out = _mlp(cache, f"{name}.mlp", mlp_in, block.mlp, spec)
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


TL_BLOCK_PARAMETERS = {
    "attn": ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"),
    "mlp": ("W_in", "b_in", "W_out", "b_out"),
    "ln1": ("w", "b"),
    "ln2": ("w", "b"),
}


def _tl_state(module: nn.Module) -> dict[str, Tensor]:
    """groklab's parameters under HookedTransformer's state-dict names (the biases a spec
    leaves out are absent)."""
    state = {"embed.W_E": module.W_E, "pos_embed.W_pos": module.W_pos, "unembed.W_U": module.W_U}
    for i, block in enumerate(module.blocks):
        for part, names in TL_BLOCK_PARAMETERS.items():
            sub = getattr(block, part, None)
            for name in names:
                if isinstance(getattr(sub, name, None), Tensor):
                    state[f"blocks.{i}.{part}.{name}"] = getattr(sub, name)
    if hasattr(module, "ln_final"):
        state["ln_final.w"], state["ln_final.b"] = module.ln_final.w, module.ln_final.b
    return {k: v.detach() for k, v in state.items()}


def _tl_config(module: nn.Module):
    from transformer_lens import HookedTransformerConfig

    spec = module.spec
    return HookedTransformerConfig(
        n_layers=spec.n_layers,
        d_model=spec.d_model,
        d_head=spec.d_head,
        n_heads=spec.n_heads,
        d_mlp=spec.d_mlp,
        d_vocab=module.W_E.shape[0],
        d_vocab_out=module.W_U.shape[1],
        n_ctx=module.W_pos.shape[0],
        act_fn=TL_ACTIVATIONS[spec.act],
        normalization_type="LN" if spec.norm == "pre" else None,
        eps=LN_EPS,
        positional_embedding_type="standard",
        default_prepend_bos=False,
        dtype=module.W_E.dtype,
        device="cpu",
        init_weights=False,  # every weight is overwritten; and the global torch RNG is left alone
    )


def to_hooked_transformer(module: nn.Module):
    """A TransformerLens `HookedTransformer` computing what `module` computes (pre-LN or no-LN
    transformers, e.g. `nanda2023`): `hooked(tokens)` [B, T, V] equals `run_with_cache`'s
    logits, and its `run_with_cache` gives the activations under the same names. Sinusoidal
    positions become its (then trainable) W_pos table. Needs the `transformerlens` extra."""
    _check_transformer(module)
    spec = module.spec
    if spec.norm == "post":
        raise GroklabError(
            "norm='post' (power2022's x = LN(x + f(x))) has no TransformerLens block; "
            "allowed: norm='pre' or 'none' (nanda2023)"
        )
    if spec.act not in TL_ACTIVATIONS:
        raise GroklabError(
            f"act={spec.act!r} has no TransformerLens act_fn of the same function; "
            f"allowed: {', '.join(TL_ACTIVATIONS)}"
        )
    try:
        from transformer_lens import HookedTransformer
    except ImportError:
        raise GroklabError(
            f"exporting to TransformerLens needs the transformerlens extra: {TL_EXTRA}"
        ) from None
    with warnings.catch_warnings():  # 3.x says HookedTransformer goes in 4.0: the pin is < 4
        warnings.filterwarnings("ignore", "HookedTransformer is deprecated", DeprecationWarning)
        hooked = HookedTransformer(_tl_config(module))
    full = hooked.state_dict()
    ours = _tl_state(module)
    for name, value in ours.items():
        if name not in full or full[name].shape != value.shape:
            raise GroklabError(
                f"TransformerLens has no parameter {name} of shape {tuple(value.shape)}"
            )
    absent = {"b_U"}  # the biases groklab's spec leaves out are zeros in TransformerLens
    absent |= set() if spec.attn_bias else {"b_Q", "b_K", "b_V", "b_O"}
    absent |= set() if spec.mlp_bias else {"b_in", "b_out"}
    for name, value in hooked.named_parameters():
        if name not in ours and name.rsplit(".", 1)[-1] in absent:
            ours[name] = torch.zeros_like(value)
        elif name not in ours:
            raise GroklabError(f"groklab's model has no weight for TransformerLens's {name}")
    hooked.load_state_dict(full | ours)
    return hooked.eval()
