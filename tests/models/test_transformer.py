import copy
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


# Inputs in both token layouts: Power's `x op y =` (the op token the same in every row, so the
# prefix shared by all rows with one x is positions 0-1) and Nanda's `x y =` (position 0 only).
def layout_inputs(layout: str, p: int = 11) -> torch.Tensor:
    x, y = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    if layout == "x_y_eq":
        return torch.stack([x, y, torch.full_like(x, p)], 1)
    return torch.stack([x, torch.full_like(x, p), y, torch.full_like(x, p + 1)], 1)


LAYOUTS = {"x_op_y_eq": 2, "x_y_eq": 1}  # layout -> positions that depend on x alone
MORE_SPECS = SPECS | {
    "no_ln_2_layers_learned": ModelSpec(
        n_layers=2, d_model=16, n_heads=4, d_mlp=32, norm="none", positions="learned"
    ),
    "post_ln_3_layers_bias": ModelSpec(
        n_layers=3, d_model=16, n_heads=2, d_mlp=32, attn_bias=True, mlp_bias=True
    ),
    "post_ln_1_layer_bias": ModelSpec(
        n_layers=1, d_model=16, n_heads=2, d_mlp=32, attn_bias=True, mlp_bias=True
    ),
}


def shared_prefix_model(name: str, layout: str):
    inputs = layout_inputs(layout)
    model = build_model(
        MORE_SPECS[name],
        d_vocab=int(inputs.max()) + 1,
        n_ctx=inputs.shape[1],
        d_out=11,
        generator=rng.generator(2, rng.INIT),
    )
    return model, inputs


def grads_of(fn, model, tokens, targets):
    loss = F.cross_entropy(fn(model, tokens), targets)
    names, params = zip(*model.named_parameters(), strict=True)
    return dict(zip(names, torch.autograd.grad(loss, params), strict=True))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", MORE_SPECS)
def test_shared_prefix_forward_equals_textbook_logits_and_gradients(name, layout, monkeypatch):
    model, inputs = shared_prefix_model(name, layout)
    assert model.share_prefix(inputs) == LAYOUTS[layout]
    assert_textbook_without(model, inputs, ("_forward_dense",), monkeypatch, seed=3, n=48)


def assert_textbook_without(model, inputs, paths, monkeypatch, *, seed: int, n: int) -> None:
    """With the model's `paths` (its forward methods) made to fail, n rows of `inputs` give the
    textbook forward's logits and every gradient, to float32 round-off."""
    gen = torch.Generator().manual_seed(seed)
    tokens = inputs[torch.randperm(len(inputs), generator=gen)[:n]]
    targets = torch.randint(0, 11, (n,), generator=torch.Generator().manual_seed(seed + 1))
    expected = naive_forward(model, tokens)
    expected_grads = grads_of(naive_forward, model, tokens, targets)

    def off(*args, **kwargs):
        raise AssertionError("another path ran")

    for path in paths:
        monkeypatch.setattr(type(model), path, off)
    torch.testing.assert_close(model(tokens), expected, rtol=1e-5, atol=1e-5)
    grads = grads_of(lambda m, t: m(t), model, tokens, targets)
    for name, g in expected_grads.items():
        torch.testing.assert_close(grads[name], g, rtol=1e-4, atol=1e-6, msg=name)


def test_shared_prefix_stops_at_the_first_position_that_varies():
    inputs = layout_inputs("x_op_y_eq")
    model, _ = shared_prefix_model("power2022", "x_op_y_eq")
    varied = inputs.clone()
    varied[::2, 1] = 12  # two op tokens: positions 0-1 no longer depend on x alone
    assert model.share_prefix(varied) == 1
    tokens = varied[:40]
    torch.testing.assert_close(model(tokens), naive_forward(model, tokens), rtol=1e-5, atol=1e-5)


def test_dropout_masks_take_the_dense_path_with_the_masks_applied(monkeypatch):
    model, inputs = shared_prefix_model("post_ln_3_layers_bias", "x_op_y_eq")
    model.share_prefix(inputs)
    keep = torch.zeros(3, 8, 4, 16)  # every MLP output dropped
    no_mlp = copy.deepcopy(model)
    with torch.no_grad():
        for block in no_mlp.blocks:
            block.mlp.W_out.zero_()
            block.mlp.b_out.zero_()

    def shared_is_off(*args, **kwargs):
        raise AssertionError("the shared-prefix path ran with dropout masks")

    monkeypatch.setattr(type(model), "_forward_shared_prefix", shared_is_off)
    dropped = model(inputs[:8], keep)
    torch.testing.assert_close(dropped, naive_forward(no_mlp, inputs[:8]))
    assert not torch.allclose(dropped, naive_forward(model, inputs[:8]))


def test_population_of_the_trainer_uses_the_shared_prefix_and_matches_each_member():
    from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
    from groklab.train.state import init_state, make_task

    spec = RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=2, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(batch_size=16),
        members=members_from(seed=[0, 1, 2]),
    )
    task = make_task(spec, torch.device("cpu"))
    pop = init_state(spec, task, torch.device("cpu")).population
    assert pop.template.prefix.shape == (task.d_vocab, 2)  # x and the op token
    idx = torch.randint(0, len(task.inputs), (3, 16), generator=torch.Generator().manual_seed(5))
    tokens, targets = task.inputs[idx], task.targets.gather(1, idx)  # [M, B, T], [M, B]
    members = [pop.member_module(i) for i in range(3)]
    expected = torch.stack([naive_forward(m, t) for m, t in zip(members, tokens, strict=True)])
    out = pop(tokens)  # [M, B, V]
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    shared = torch.stack([naive_forward(m, task.inputs) for m in members])
    torch.testing.assert_close(pop.forward_shared(task.inputs), shared, rtol=1e-5, atol=1e-5)
    loss = F.cross_entropy(out.flatten(0, 1), targets.flatten(), reduction="sum")
    (grad,) = torch.autograd.grad(loss, pop.flat)  # [M, P]
    for i, (m, t) in enumerate(zip(members, tokens, strict=True)):
        ref = F.cross_entropy(naive_forward(m, t), targets[i], reduction="sum")
        expected_grad = torch.cat(
            [g.flatten() for g in torch.autograd.grad(ref, list(m.parameters()))]
        )
        torch.testing.assert_close(grad[i], expected_grad, rtol=1e-4, atol=1e-6)


ONE_BLOCK = ("nanda2023", "post_ln_1_layer_bias")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ONE_BLOCK)
def test_one_block_scores_its_constant_answer_query_on_tables(name, layout, monkeypatch):
    model, inputs = shared_prefix_model(name, layout)
    model.share_prefix(inputs)
    assert model.answer_token == int(inputs[0, -1])
    paths = ("_forward_dense", "_forward_shared_prefix")
    assert_textbook_without(model, inputs, paths, monkeypatch, seed=6, n=40)


def test_scored_tables_need_one_block_no_pre_norm_and_the_same_answer_token():
    inputs = layout_inputs("x_y_eq")
    for name, expected in (
        ("nanda2023", True),
        ("power2022", False),
        ("pre_gelu_bias_3_layers", False),
    ):
        model, _ = shared_prefix_model(name, "x_y_eq")
        model.share_prefix(inputs)
        assert (model.answer_token >= 0) is expected, name
    model, _ = shared_prefix_model("nanda2023", "x_y_eq")
    varied = inputs.clone()
    varied[::3, -1] = 0  # two answer tokens: the query is no longer one row
    model.share_prefix(varied)
    assert model.answer_token == -1
    torch.testing.assert_close(
        model(varied[:30]), naive_forward(model, varied[:30]), rtol=1e-5, atol=1e-5
    )


def test_population_of_one_block_members_scores_on_tables_and_matches_each_member():
    from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
    from groklab.train.state import init_state, make_task

    spec = RunSpec(
        data=DataSpec(op="add", p=7, layout="x_y_eq"),
        model=PRESETS["nanda2023"],
        train=TrainSpec(batch_size="full"),
        members=members_from(seed=[0, 1]),
    )
    task = make_task(spec, torch.device("cpu"))
    pop = init_state(spec, task, torch.device("cpu")).population
    assert pop.template.answer_token == 7  # the `=` token
    members = [pop.member_module(i) for i in range(2)]
    shared = torch.stack([naive_forward(m, task.inputs) for m in members])
    torch.testing.assert_close(pop.forward_shared(task.inputs), shared, rtol=1e-5, atol=1e-5)
    targets = task.targets[:, : len(task.inputs)] if task.targets.dim() == 2 else task.targets
    out = pop.forward_shared(task.inputs)  # [M, N, V]
    loss = sum(F.cross_entropy(out[i], targets[i], reduction="sum") for i in range(2))
    (grad,) = torch.autograd.grad(loss, pop.flat)
    for i, m in enumerate(members):
        ref = F.cross_entropy(naive_forward(m, task.inputs), targets[i], reduction="sum")
        expected = torch.cat([g.flatten() for g in torch.autograd.grad(ref, list(m.parameters()))])
        torch.testing.assert_close(grad[i], expected, rtol=1e-4, atol=1e-5)
