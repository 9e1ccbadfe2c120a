"""Tests for src/groklab/models/lstm.py (the Omnigrok Fig. 4 LSTM classifier)."""

import math

import pytest
import torch
from torch import nn

from groklab import rng
from groklab.errors import SpecError
from groklab.models import build_model
from groklab.models.lstm import LSTMClassifier
from groklab.models.shape import TaskShape
from groklab.spec import PRESETS, ModelSpec
from groklab.train.population import Population

SMALL = ModelSpec(arch="lstm", n_layers=2, d_model=8, d_mlp=12, mlp_bias=True)
D_VOCAB, N_CTX = 20, 7


def build(seed: int, spec: ModelSpec = SMALL, d_out: int = 1) -> LSTMClassifier:
    return build_model(
        spec, d_vocab=D_VOCAB, n_ctx=N_CTX, d_out=d_out, generator=rng.generator(seed, rng.INIT)
    )


def tokens(*shape: int) -> torch.Tensor:
    return torch.randint(0, D_VOCAB, shape, generator=torch.Generator().manual_seed(1))


def torch_reference(model: LSTMClassifier) -> tuple[nn.Embedding, nn.LSTM, nn.Linear]:
    """torch.nn modules holding `model`'s weights."""
    d_model, d_hidden = model.W_E.shape[1], model.lstm[0].W_hh.shape[1]
    emb = nn.Embedding(D_VOCAB, d_model)
    lstm = nn.LSTM(d_model, d_hidden, num_layers=len(model.lstm), batch_first=True)
    head = nn.Linear(d_hidden, model.W_U.shape[1])
    with torch.no_grad():
        emb.weight.copy_(model.W_E)
        for i, layer in enumerate(model.lstm):
            for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
                torch_name = f"{'weight' if name[0] == 'W' else 'bias'}_{name[2:]}_l{i}"
                getattr(lstm, torch_name).copy_(getattr(layer, name))
        head.weight.copy_(model.W_U.T)
        head.bias.copy_(model.b_U)
    return emb, lstm, head


def test_lstm_classifier_equals_torch_nn_lstm_with_the_same_weights():
    model = build(0, d_out=2)
    x = tokens(5, N_CTX)
    emb, lstm, head = torch_reference(model)
    hidden, _ = lstm(emb(x))  # [B, T, H]
    torch.testing.assert_close(model(x), head(hidden[:, -1]))


def test_gradients_equal_torch_nn_lstm_gradients():
    model = build(0)
    x = tokens(4, N_CTX)
    emb, lstm, head = torch_reference(model)
    model(x).square().sum().backward()
    head(lstm(emb(x))[0][:, -1]).square().sum().backward()
    torch.testing.assert_close(model.lstm[1].W_hh.grad, lstm.weight_hh_l1.grad)
    torch.testing.assert_close(model.W_E.grad, emb.weight.grad)


def test_population_of_two_equals_each_member_forward_and_gradient():
    models = [build(seed) for seed in (3, 4)]
    x = tokens(2, 6, N_CTX)  # [M, B, T]
    pop = Population.stack(models)
    out = pop(x)  # [M, B, 1]
    torch.testing.assert_close(out, torch.stack([m(x[i]) for i, m in enumerate(models)]))
    torch.testing.assert_close(pop.forward_shared(x[0]), torch.stack([m(x[0]) for m in models]))
    (grad,) = torch.autograd.grad(out.square().sum(), pop.flat)
    for i, m in enumerate(models):
        m(x[i]).square().sum().backward()
        expected = torch.cat([p.grad.flatten() for p in m.parameters()])
        torch.testing.assert_close(grad[i], expected)


def test_init_is_pytorch_default_and_drawn_from_the_generator_only():
    a, b = build(5), build(5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.W_E, build(6).W_E)
    bound = 1 / math.sqrt(SMALL.d_mlp)
    for layer in a.lstm:
        for p in (layer.W_ih, layer.W_hh, layer.b_ih, layer.b_hh):
            assert p.abs().max() <= bound and p.abs().max() > 0.8 * bound
    assert a.W_U.abs().max() <= bound and a.b_U.abs().max() <= bound
    assert 0.7 < a.W_E.std() < 1.3  # N(0, 1), as nn.Embedding


def test_omnigrok_preset_has_the_papers_shapes():
    model = build(0, PRESETS["omnigrok_imdb"])
    assert model.W_E.shape == (D_VOCAB, 64)
    assert [tuple(layer.W_ih.shape) for layer in model.lstm] == [(1024, 64), (1024, 256)]
    assert model.W_U.shape == (256, 1)
    assert model(tokens(2, 3)).shape == (2, 1)


def test_no_bias_spec_drops_lstm_and_readout_biases():
    model = build(0, ModelSpec(arch="lstm", n_layers=1, d_model=4, d_mlp=6, mlp_bias=False))
    assert {n for n, _ in model.named_parameters()} == {"W_E", "lstm.0.W_ih", "lstm.0.W_hh", "W_U"}


def test_feature_inputs_are_refused_with_one_line():
    with pytest.raises(SpecError, match="reads tokens"):
        LSTMClassifier(SMALL, TaskShape(0, 4, 1, (4,)), torch.Generator())
