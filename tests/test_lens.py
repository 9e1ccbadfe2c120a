import pytest
import torch

from groklab import rng
from groklab.errors import GroklabError
from groklab.lens import run_with_cache
from groklab.models import build_model
from groklab.spec import PRESETS, ModelSpec

SMALL = dict(d_model=16, n_heads=2, d_mlp=32)
SPECS = {
    # the presets at their own shapes (the LN variants and biases are what matter)
    "power2022": PRESETS["power2022"],
    "nanda2023": PRESETS["nanda2023"],
    "post_ln_attn_bias": ModelSpec(n_layers=1, attn_bias=True, mlp_bias=True, **SMALL),
    "pre_ln_gelu_3_layers": ModelSpec(
        n_layers=3,
        act="gelu",
        norm="pre",
        positions="learned",
        attn_bias=True,
        mlp_bias=True,
        **SMALL,
    ),
    "no_ln_2_layers_sinusoidal": ModelSpec(n_layers=2, norm="none", **SMALL),
    "pre_ln_tanh_normal_init": ModelSpec(
        n_layers=1, act="tanh", norm="pre", init="normal", **SMALL
    ),
}
D_VOCAB, N_CTX, D_OUT = 9, 4, 7


def build(name: str, dtype=torch.float32):
    model = build_model(
        SPECS[name], d_vocab=D_VOCAB, n_ctx=N_CTX, d_out=D_OUT, generator=rng.generator(0, rng.INIT)
    )
    return model.to(dtype).eval()


def tokens(n: int = 32, t: int = N_CTX) -> torch.Tensor:
    return torch.randint(0, D_VOCAB, (n, t), generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("name", SPECS)
def test_cached_last_position_logits_equal_the_training_forward(name):
    model, toks = build(name), tokens()
    logits, _ = run_with_cache(model, toks)
    assert logits.shape == (32, N_CTX, D_OUT)
    with torch.no_grad():
        torch.testing.assert_close(logits[:, -1], model(toks), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", SPECS)
def test_logits_at_every_position_equal_the_forward_of_that_prefix_in_float64(name):
    # The model is causal, so position t's logits are the answer logits of tokens[:, :t+1]:
    # the training forward checks every position the fast path never computes.
    model, toks = build(name, torch.float64), tokens()
    logits, _ = run_with_cache(model, toks)
    with torch.no_grad():
        for t in range(N_CTX):
            expected = model(toks[:, : t + 1])
            torch.testing.assert_close(logits[:, t], expected, rtol=1e-12, atol=1e-12)


def expected_names(n_layers: int, norm: str) -> set[str]:
    names = {"hook_embed", "hook_pos_embed"}
    for i in range(n_layers):
        b = f"blocks.{i}"
        names |= {f"{b}.hook_{h}" for h in ("resid_pre", "resid_mid", "resid_post")}
        names |= {f"{b}.hook_attn_out", f"{b}.hook_mlp_out"}
        names |= {f"{b}.attn.hook_{h}" for h in ("q", "k", "v", "attn_scores", "pattern", "z")}
        names |= {f"{b}.mlp.hook_pre", f"{b}.mlp.hook_post"}
        if norm != "none":
            names |= {
                f"{b}.{ln}.hook_{h}" for ln in ("ln1", "ln2") for h in ("scale", "normalized")
            }
    if norm == "pre":
        names |= {"ln_final.hook_scale", "ln_final.hook_normalized"}
    return names


@pytest.mark.parametrize("name", SPECS)
def test_cache_names_and_shapes_follow_transformerlens(name):
    spec, model, toks = SPECS[name], build(name), tokens(5, 3)
    _, cache = run_with_cache(model, toks)
    assert set(cache) == expected_names(spec.n_layers, spec.norm)
    b, t, d, h, dh, m = 5, 3, spec.d_model, spec.n_heads, spec.d_head, spec.d_mlp
    for key, value in cache.items():
        leaf = key.rsplit(".", 1)[-1]
        if leaf in ("hook_q", "hook_k", "hook_v", "hook_z"):
            assert value.shape == (b, t, h, dh), key
        elif leaf in ("hook_attn_scores", "hook_pattern"):
            assert value.shape == (b, h, t, t), key
        elif key.endswith(("mlp.hook_pre", "mlp.hook_post")):
            assert value.shape == (b, t, m), key
        elif leaf == "hook_scale":
            assert value.shape == (b, t, 1), key
        else:
            assert value.shape == (b, t, d), key
        assert not value.requires_grad


def test_nanda_activations_match_a_plain_computation_from_the_weights():
    model, toks = build("nanda2023", torch.float64), tokens(6)
    _, cache = run_with_cache(model, toks)
    a, mlp = model.blocks[0].attn, model.blocks[0].mlp
    resid = model.W_E[toks] + model.W_pos  # [B, T, D]
    torch.testing.assert_close(cache["blocks.0.hook_resid_pre"], resid)
    q = torch.stack([resid @ a.W_Q[h] for h in range(a.W_Q.shape[0])], dim=2)  # [B, T, H, dh]
    torch.testing.assert_close(cache["blocks.0.attn.hook_q"], q)
    pattern = cache["blocks.0.attn.hook_pattern"]
    torch.testing.assert_close(pattern.sum(-1), torch.ones(6, a.W_Q.shape[0], N_CTX).double())
    assert (pattern.triu(1) == 0).all()  # causal: no query attends to a later key
    scores = cache["blocks.0.attn.hook_attn_scores"]
    assert torch.isneginf(scores.triu(1)[..., 0, 1:]).all()
    mid = cache["blocks.0.hook_resid_mid"]
    torch.testing.assert_close(mid, resid + cache["blocks.0.hook_attn_out"])
    pre = mid @ mlp.W_in + mlp.b_in
    torch.testing.assert_close(cache["blocks.0.mlp.hook_pre"], pre)
    torch.testing.assert_close(cache["blocks.0.mlp.hook_post"], pre.clamp(min=0))
    torch.testing.assert_close(
        cache["blocks.0.hook_resid_post"], mid + pre.clamp(min=0) @ mlp.W_out + mlp.b_out
    )


def test_layernorm_hooks_are_the_normalized_stream_with_weight_and_bias():
    model, toks = build("pre_ln_gelu_3_layers", torch.float64), tokens(4)
    with torch.no_grad():
        model.blocks[1].ln2.w.mul_(3.0)
        model.blocks[1].ln2.b.add_(0.5)
    _, cache = run_with_cache(model, toks)
    x = cache["blocks.1.hook_resid_mid"]
    expected = torch.nn.functional.layer_norm(
        x, (16,), model.blocks[1].ln2.w, model.blocks[1].ln2.b
    )
    torch.testing.assert_close(cache["blocks.1.ln2.hook_normalized"], expected)
    torch.testing.assert_close(
        cache["blocks.1.ln2.hook_scale"], (x.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    )


def test_inspecting_a_non_transformer_is_one_line_naming_it():
    mlp = build_model(
        PRESETS["mlp"], d_vocab=D_VOCAB, n_ctx=N_CTX, d_out=D_OUT, generator=rng.generator(0, 0)
    )
    with pytest.raises(GroklabError, match=r"got TableMLP.*allowed: arch='transformer'") as e:
        run_with_cache(mlp, tokens())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (torch.zeros(4, dtype=torch.long), r"shape \(4,\)"),
        (torch.zeros(2, 4), r"integer tokens"),
        (torch.full((2, 4), D_VOCAB), r"ids 9\.\.9.*ids 0\.\.8"),
        (torch.zeros(2, N_CTX + 1, dtype=torch.long), r"T=5.*T <= 4"),
    ],
)
def test_bad_tokens_are_one_line_naming_the_value_and_what_is_allowed(bad, says):
    with pytest.raises(GroklabError, match=says):
        run_with_cache(build("nanda2023"), bad)


TL_SPECS = ["nanda2023", "pre_ln_gelu_3_layers", "no_ln_2_layers_sinusoidal"]


def transformer_lens():
    return pytest.importorskip(
        "transformer_lens",
        reason="TransformerLens is not installed: pip install -c constraints.txt -e "
        "'.[transformerlens]' runs the export tests",
    )


@pytest.mark.parametrize("name", TL_SPECS)
def test_exported_hooked_transformer_gives_equal_logits_and_activations(name):
    transformer_lens()
    from groklab.lens import to_hooked_transformer

    model, toks = build(name), tokens(16)
    hooked = to_hooked_transformer(model)
    logits, cache = run_with_cache(model, toks)
    with torch.no_grad():
        tl_logits, tl_cache = hooked.run_with_cache(toks)
        torch.testing.assert_close(tl_logits[:, -1], model(toks), rtol=0, atol=1e-4)
    torch.testing.assert_close(tl_logits, logits, rtol=0, atol=1e-4)
    assert set(cache) <= set(tl_cache.keys())  # every groklab name is TransformerLens's own
    for key, value in cache.items():
        torch.testing.assert_close(tl_cache[key], value, rtol=0, atol=1e-4, msg=key)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("power2022", r"norm='post' \(power2022's x = LN\(x \+ f\(x\)\)\) has no TransformerLens"),
        ("pre_ln_tanh_normal_init", r"act='tanh' has no TransformerLens act_fn.*allowed: relu"),
    ],
)
def test_export_refuses_what_transformerlens_cannot_compute_in_one_line(name, says):
    from groklab.lens import to_hooked_transformer

    with pytest.raises(GroklabError, match=says) as e:
        to_hooked_transformer(build(name))
    assert "\n" not in str(e.value)


def test_export_without_the_extra_names_the_extra(monkeypatch):
    import sys

    from groklab.lens import to_hooked_transformer

    monkeypatch.setitem(sys.modules, "transformer_lens", None)  # import now raises ImportError
    with pytest.raises(GroklabError, match=r"needs the transformerlens extra: pip install .*"):
        to_hooked_transformer(build("nanda2023"))


def test_export_leaves_the_global_torch_generator_alone():
    transformer_lens()
    from groklab.lens import to_hooked_transformer

    model = build("nanda2023")
    state = torch.get_rng_state()
    to_hooked_transformer(model)
    assert torch.equal(torch.get_rng_state(), state)


def test_the_old_module_name_still_imports_the_same_functions_and_says_it_moved():
    import importlib
    import sys
    import warnings

    import groklab.lens

    sys.modules.pop("groklab.inspect", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("groklab.inspect")
    assert old.run_with_cache is groklab.lens.run_with_cache
    assert old.to_hooked_transformer is groklab.lens.to_hooked_transformer
    assert any("groklab.lens" in str(w.message) for w in caught)
