import math

import pytest
import torch
from torch.nn import functional as F

from groklab import rng
from groklab.models import build_model
from groklab.spec import PRESETS, ModelSpec


def naive_forward(model, tokens):
    """The textbook computation: every position through every block, causal softmax attention
    by einsum, unembed all positions, then take the last one. Written independently of the
    pruned/tabled fast path in the module."""
    spec = model.spec
    x = model.W_E[tokens] + model.W_pos[: tokens.shape[1]]
    t = tokens.shape[1]
    for block in model.blocks:
        a = block.attn
        h = block.ln1(x) if spec.norm == "pre" else x
        q = torch.einsum("btd,hde->bthe", h, a.W_Q)
        k = torch.einsum("btd,hde->bthe", h, a.W_K)
        v = torch.einsum("btd,hde->bthe", h, a.W_V)
        if spec.attn_bias:
            q, k, v = q + a.b_Q, k + a.b_K, v + a.b_V
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(spec.d_head)
        scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
        z = torch.einsum("bhqk,bkhe->bqhe", scores.softmax(-1), v)
        attn = torch.einsum("bqhe,hed->bqd", z, a.W_O) + (a.b_O if spec.attn_bias else 0)
        mlp = block.mlp
        act = F.relu if spec.act == "relu" else F.gelu

        def ff(u, mlp=mlp, act=act):
            hid = act(u @ mlp.W_in + (mlp.b_in if spec.mlp_bias else 0))
            return hid @ mlp.W_out + (mlp.b_out if spec.mlp_bias else 0)

        if spec.norm == "post":
            x = block.ln1(x + attn)
            x = block.ln2(x + ff(x))
        elif spec.norm == "pre":
            x = x + attn
            x = x + ff(block.ln2(x))
        else:
            x = x + attn
            x = x + ff(x)
    if spec.norm == "pre":
        x = model.ln_final(x)
    return (x @ model.W_U)[:, -1]


SPECS = {
    "power2022": PRESETS["power2022"],
    "nanda2023": PRESETS["nanda2023"],
    "pre_gelu_bias_3_layers": ModelSpec(
        n_layers=3,
        d_model=32,
        n_heads=2,
        d_mlp=64,
        act="gelu",
        norm="pre",
        positions="learned",
        attn_bias=True,
        mlp_bias=True,
    ),
}


@pytest.mark.parametrize("name", SPECS)
def test_pruned_forward_equals_textbook_transformer_at_answer_position(name):
    model = build_model(
        SPECS[name], d_vocab=15, n_ctx=4, d_out=13, generator=rng.generator(0, rng.INIT)
    )
    tokens = torch.randint(0, 15, (64, 4), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(model(tokens), naive_forward(model, tokens), rtol=1e-4, atol=1e-4)


def test_parameter_names_follow_transformerlens():
    model = build_model(
        PRESETS["power2022"], d_vocab=99, n_ctx=4, d_out=97, generator=rng.generator(0, rng.INIT)
    )
    names = {n for n, _ in model.named_parameters()}
    for expected in [
        "W_E",
        "W_U",
        "blocks.0.attn.W_Q",
        "blocks.0.attn.W_K",
        "blocks.0.attn.W_V",
        "blocks.0.attn.W_O",
        "blocks.1.mlp.W_in",
        "blocks.1.mlp.W_out",
    ]:
        assert expected in names
    assert "W_pos" not in names  # fixed sinusoidal positions are a buffer, not trained


def test_power2022_preset_has_the_papers_shape():
    model = build_model(
        PRESETS["power2022"], d_vocab=99, n_ctx=4, d_out=97, generator=rng.generator(0, rng.INIT)
    )
    non_embedding = sum(p.numel() for n, p in model.named_parameters() if n not in ("W_E", "W_U"))
    # 2 blocks x (4 * 128^2 attention + 2 * 128 * 512 MLP + 2 LayerNorms): ~4e5 (Power et al.)
    assert non_embedding == 2 * (4 * 128 * 128 + 2 * 128 * 512 + 4 * 128)
    assert model.blocks[0].attn.W_Q.shape == (4, 128, 32)


def test_nanda2023_init_is_normal_over_sqrt_d_model():
    model = build_model(
        PRESETS["nanda2023"], d_vocab=114, n_ctx=3, d_out=113, generator=rng.generator(0, rng.INIT)
    )
    std = model.blocks[0].mlp.W_in.std().item()
    assert abs(std - 1 / math.sqrt(128)) < 0.01
    assert not hasattr(model.blocks[0], "ln1")
    assert model.W_pos.requires_grad


def test_init_scale_multiplies_every_parameter_and_the_norm_by_alpha():
    spec = PRESETS["nanda2023"]
    kwargs = dict(d_vocab=9, n_ctx=3, d_out=7)
    base = build_model(spec, generator=rng.generator(3, rng.INIT), **kwargs)
    scaled = build_model(spec, generator=rng.generator(3, rng.INIT), init_scale=8.0, **kwargs)
    for (_, p), (_, q) in zip(base.named_parameters(), scaled.named_parameters(), strict=True):
        torch.testing.assert_close(q, 8.0 * p)


def test_same_seed_same_init_and_different_seed_different_init():
    def weights(seed):
        m = build_model(
            PRESETS["power2022"],
            d_vocab=9,
            n_ctx=4,
            d_out=7,
            generator=rng.generator(seed, rng.INIT),
        )
        return torch.cat([p.flatten() for p in m.parameters()])

    assert torch.equal(weights(5), weights(5))
    assert not torch.equal(weights(5), weights(6))


def test_dropout_keep_mask_scales_the_mlp_output_and_no_mask_means_no_dropout():
    spec = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)
    model = build_model(spec, d_vocab=9, n_ctx=4, d_out=7, generator=rng.generator(0, rng.INIT))
    tokens = torch.randint(0, 9, (8, 4), generator=torch.Generator().manual_seed(0))
    dropped = model(tokens, torch.zeros(1, 8, 4, 16))
    kept = model(tokens, torch.full((1, 8, 4, 16), 2.0))  # p = 0.5: kept units scaled by 2
    plain = model(tokens)
    with torch.no_grad():
        w_out = model.blocks[0].mlp.W_out.clone()
        model.blocks[0].mlp.W_out.zero_()
        no_mlp = model(tokens)
        model.blocks[0].mlp.W_out.copy_(2 * w_out)
        doubled = model(tokens)
    torch.testing.assert_close(dropped, no_mlp)
    torch.testing.assert_close(kept, doubled)
    assert not torch.allclose(plain, kept)
