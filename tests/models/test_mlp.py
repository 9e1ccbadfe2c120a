"""Tests for src/groklab/models/mlp.py: one-hot inputs (the prieto2025 preset) and their
gathered first layer, the leaky slope, and which parameters Muon leaves to AdamW."""

import pytest
import torch
import torch.nn.functional as F

from groklab.data.ops import make_table
from groklab.errors import SpecError
from groklab.models import build_model
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec, members_from
from groklab.train.population import Population


def build(spec: ModelSpec, seed: int = 0, *, p: int = 11, **kw):
    return build_model(
        spec, d_vocab=p + 2, n_ctx=4, d_out=p, generator=torch.Generator().manual_seed(seed), **kw
    )


def plain_prieto_mlp(w1, w2, w3, x, y, p):
    """One-hot [x; y] -> ReLU(W1 .) -> ReLU(W2 .) -> W3 ., no biases, for one example."""
    v = torch.zeros(2 * p)
    v[x], v[p + y] = 1.0, 1.0
    return w3 @ torch.relu(w2 @ torch.relu(w1 @ v))


def test_prieto2025_preset_is_onehot_200_200_p_relu_without_biases():
    model = build(PRESETS["prieto2025"], p=13)
    shapes = {n: tuple(t.shape) for n, t in model.named_parameters()}
    assert shapes == {
        "layers.0.weight": (200, 26),
        "layers.1.weight": (200, 200),
        "layers.2.weight": (13, 200),
    }


def test_onehot_mlp_forward_equals_a_plain_implementation_for_every_pair():
    p = 7
    model = build(PRESETS["prieto2025"], p=p)
    table = make_table("add", p)
    w1, w2, w3 = (layer.weight.detach() for layer in model.layers)
    got = model(table.inputs)  # [N, p]
    want = torch.stack(
        [
            plain_prieto_mlp(w1, w2, w3, int(x), int(y), p)
            for x, y in zip(table.x, table.y, strict=True)
        ]
    )
    torch.testing.assert_close(got, want)


def test_onehot_population_forward_equals_each_member():
    members = [build(PRESETS["prieto2025"], seed=s) for s in range(3)]
    tokens = make_table("sub", 11).inputs[:20]
    expected = torch.stack([m(tokens) for m in members])  # [M, B, V]
    torch.testing.assert_close(Population.stack(members).forward_shared(tokens), expected)


def dense_onehot_population(params: dict[str, torch.Tensor], tokens, p: int) -> torch.Tensor:
    """The one-hot MLP as plain products, params name -> [M, *shape]: [one_hot(x); one_hot(y)]
    [B, 2p] times every member's first weight, ReLU, the other layers; logits [M, B, p]."""
    n_layers = len({name.split(".")[1] for name in params})
    onehot = F.one_hot(tokens[:, [0, 2]], p).flatten(1).to(params["layers.0.weight"])  # [B, 2p]
    h = onehot.expand(params["layers.0.weight"].shape[0], -1, -1)  # [M, B, 2p]
    for i in range(n_layers):
        h = h @ params[f"layers.{i}.weight"].transpose(1, 2)  # [M, B, out]
        if f"layers.{i}.bias" in params:
            h = h + params[f"layers.{i}.bias"][:, None]
        h = torch.relu(h) if i < n_layers - 1 else h
    return h


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [False, True])
def test_gathered_onehot_layer_equals_the_dense_product_in_logits_and_gradients(dtype, bias):
    p = 23
    spec = ModelSpec(arch="mlp", n_layers=2, d_mlp=32, inputs="onehot", mlp_bias=bias)
    population = Population.stack([build(spec, seed=s, p=p) for s in range(3)], dtype=dtype)
    table = make_table("add", p)
    tokens, targets = table.inputs, table.targets  # every pair: each column gathered many times

    def loss(logits):  # [M, N, p] -> one summed loss, each member's gradient its own
        return F.cross_entropy(logits.flatten(0, 1), targets.repeat(3), reduction="sum")

    got = population.forward_shared(tokens)
    (got_grad,) = torch.autograd.grad(loss(got), population.flat)
    want = dense_onehot_population(population.params(), tokens, p)
    (want_grad,) = torch.autograd.grad(loss(want), population.flat)
    assert got_grad[:, : 32 * 2 * p].abs().max() > 0  # the first layer does get a gradient
    if dtype == torch.float64:  # equal to the bit in float64 on this BLAS (measured, not promised)
        assert torch.equal(got, want) and torch.equal(got_grad, want_grad)
        return
    if bias:  # the bias may join the sum in another order than the product's
        torch.testing.assert_close(got, want)
    else:  # two non-zero terms: their sum rounds the same in any order
        assert torch.equal(got, want)
    torch.testing.assert_close(got_grad, want_grad)  # the index-add reorders each column's sum


def test_leaky_slope_is_the_negative_slope_of_leaky_relu():
    spec = ModelSpec(arch="mlp", n_layers=1, d_mlp=16, act="leaky_relu", leaky_slope=0.2)
    model = build(spec)
    tokens = make_table("add", 11).inputs
    h = F.embedding(tokens[:, [0, 2]], model.W_E).flatten(1)
    want = model.layers[1](F.leaky_relu(model.layers[0](h), 0.2))
    torch.testing.assert_close(model(tokens), want)
    assert not torch.allclose(model(tokens), model.layers[1](F.leaky_relu(model.layers[0](h))))


def test_new_model_fields_at_their_defaults_keep_run_ids():
    spec = RunSpec(model=PRESETS["omnigrok_toy"], members=members_from(seed=[0, 1]))
    assert spec.run_id == RunSpec(model=PRESETS["omnigrok_toy"], members=spec.members).run_id
    base = RunSpec(data=DataSpec(op="add", p=11), model=ModelSpec(arch="mlp"))
    same = RunSpec(data=base.data, model=ModelSpec(arch="mlp", inputs="embed", leaky_slope=0.01))
    assert base.run_id == same.run_id
    assert RunSpec(data=base.data, model=ModelSpec(arch="mlp", inputs="onehot")).run_id != (
        base.run_id
    )


def test_io_parameters_are_the_embedding_or_onehot_first_layer_and_the_output_layer():
    assert build(PRESETS["prieto2025"]).io_parameters() == (
        "layers.0.weight",
        "layers.2.weight",
        "layers.2.bias",
    )
    assert build(PRESETS["mlp"]).io_parameters() == ("W_E", "layers.2.weight", "layers.2.bias")


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(
        SpecError, match="inputs='bits' is not allowed; choose one of embed, onehot"
    ):
        ModelSpec(arch="mlp", inputs="bits")
    with pytest.raises(SpecError, match="inputs='onehot' is for arch='mlp'"):
        ModelSpec(inputs="onehot")
    with pytest.raises(SpecError, match="leaky_slope=0.2 is read by arch='mlp' only"):
        ModelSpec(act="leaky_relu", leaky_slope=0.2)
    with pytest.raises(SpecError, match="leaky_slope=-0.1 is out of range"):
        ModelSpec(leaky_slope=-0.1)
    with pytest.raises(SpecError, match="reads table tokens"):
        build_model(
            PRESETS["prieto2025"],
            d_vocab=0,
            n_ctx=4,
            d_out=3,
            input_shape=(4,),
            generator=torch.Generator(),
        )
