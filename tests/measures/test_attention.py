import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from groklab.measures import MEASURES
from groklab.measures.attention import answer_patterns, head_cosine, head_entropies
from groklab.models.build import build_model
from groklab.spec import ModelSpec
from groklab.spec.presets import PRESETS

P = 7


def table_inputs(op_token: bool) -> torch.Tensor:
    """Every (x, y) of a p = 7 table as `x y =` or `x op y =` tokens."""
    x, y = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    x, y = x.flatten(), y.flatten()
    eq = torch.full_like(x, P)
    return torch.stack([x, P + 1 + 0 * x, y, eq] if op_token else [x, y, eq], 1)


def one_layer(seed: int = 0):
    spec = replace(PRESETS["nanda2023"], d_model=16, n_heads=4, d_mlp=16)
    gen = torch.Generator().manual_seed(seed)
    return build_model(spec, d_vocab=P + 1, n_ctx=3, d_out=P, generator=gen)


def plain_patterns(model, inputs: torch.Tensor) -> np.ndarray:
    """[H, N, T]: a 1-layer, no-LayerNorm transformer's attention at the last position, from
    its weights one head at a time."""
    x = (model.W_E[inputs] + model.W_pos[: inputs.shape[1]]).detach().double().numpy()
    attn = model.blocks[0].attn
    out = []
    for h in range(attn.n_heads):
        w_q, w_k = (w[h].detach().double().numpy() for w in (attn.W_Q, attn.W_K))
        q, k = x[:, -1] @ w_q, x @ w_k  # [N, dh], [N, T, dh]
        scores = np.einsum("nd,ntd->nt", q, k) / math.sqrt(w_q.shape[1])
        e = np.exp(scores - scores.max(1, keepdims=True))
        out.append(e / e.sum(1, keepdims=True))
    return np.stack(out)


def plain_cosine_and_entropies(a: np.ndarray) -> tuple[float, np.ndarray]:
    h = a.shape[0]
    v = a.reshape(h, -1)
    sims = [
        v[i] @ v[j] / np.linalg.norm(v[i]) / np.linalg.norm(v[j])
        for i in range(h)
        for j in range(h)
        if i < j
    ]
    return float(np.mean(sims)), -(a * np.log(a)).sum(-1).mean(-1)


@pytest.mark.parametrize("shared", [False, True])
def test_patterns_and_measures_equal_a_plain_computation_head_by_head(shared):
    model, inputs = one_layer(), table_inputs(op_token=False)
    if shared:  # as the trainer's model: its attention scored on tables
        model.share_prefix(inputs)
        assert model.answer_token == P
    expected = plain_patterns(model, inputs)
    (got,) = answer_patterns(model, inputs)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-7)
    cosine, entropies = plain_cosine_and_entropies(expected)
    task = SimpleNamespace(inputs=inputs)
    assert MEASURES["attn_head_cos"].fn(model, task) == {
        "attn_head_cos/blocks.0.attn": pytest.approx(cosine, rel=1e-6)
    }
    assert MEASURES["attn_entropy"].fn(model, task) == {
        "attn_entropy_std/blocks.0.attn": pytest.approx(entropies.std(), rel=1e-5),
        "attn_entropy/blocks.0.attn": pytest.approx(entropies.mean(), rel=1e-6),
    }


def test_heads_that_never_look_attend_uniformly_and_alike():
    model, inputs = one_layer(), table_inputs(op_token=False)
    with torch.no_grad():
        model.blocks[0].attn.W_Q.zero_()  # every score 0: uniform over the 3 positions
    (a,) = answer_patterns(model, inputs)
    assert float(head_cosine(a)) == pytest.approx(1.0)
    torch.testing.assert_close(head_entropies(a), torch.full((4,), math.log(3), dtype=a.dtype))


def test_copied_heads_have_cosine_one_and_no_entropy_spread():
    model, inputs = one_layer(), table_inputs(op_token=False)
    task = SimpleNamespace(inputs=inputs)
    before = MEASURES["attn_head_cos"].fn(model, task)["attn_head_cos/blocks.0.attn"]
    attn = model.blocks[0].attn
    with torch.no_grad():
        for w in (attn.W_Q, attn.W_K):
            w.copy_(w[:1].expand_as(w))  # every head is head 0
    after = MEASURES["attn_head_cos"].fn(model, task)["attn_head_cos/blocks.0.attn"]
    spread = MEASURES["attn_entropy"].fn(model, task)["attn_entropy_std/blocks.0.attn"]
    assert before < 0.999 and after == pytest.approx(1.0) and spread == pytest.approx(0, abs=1e-9)


def test_every_block_is_read_the_same_with_or_without_the_shared_prefix_rewrite():
    spec = ModelSpec(n_layers=2, d_model=16, n_heads=4, d_mlp=16, norm="pre")
    model = build_model(
        spec, d_vocab=P + 2, n_ctx=4, d_out=P, generator=torch.Generator().manual_seed(1)
    )
    inputs = table_inputs(op_token=True)
    dense = answer_patterns(model, inputs)
    assert model.share_prefix(inputs) == 2  # `x op y =`: x and op scored once per x
    shared = answer_patterns(model, inputs)
    assert len(dense) == len(shared) == 2
    for a, b in zip(dense, shared, strict=True):
        assert a.shape == (4, P * P, 4)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a.sum(-1), torch.ones(4, P * P, dtype=a.dtype))
