"""Tests for src/groklab/models/mlp.py: one-hot inputs (the prieto2025 preset), the leaky
slope, and which parameters Muon leaves to AdamW."""

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
