"""The nanda2023 preset as Nanda et al. 2023 trained it: `[x, y, =]` tokens, W_U / sqrt(d_vocab).

The reference forward below is written from the paper's code conventions (weights stored
transposed, einsums per head, the causal mask as tril - 1e10), not from groklab's model.
"""

import math

import torch

from groklab.data.datasets import make_dataset
from groklab.models.build import build_model
from groklab.spec import PRESETS, DataSpec


def nanda_forward(w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """Nanda's 1-layer, no-LayerNorm transformer; w in Nanda's layouts; logits [B, T, V]."""
    x = w["W_E"][:, tokens].permute(1, 2, 0)  # [D, B, T] -> [B, T, D]
    x = x + w["W_pos"][: tokens.shape[1]]
    k = torch.einsum("ihd,bpd->biph", w["W_K"], x)
    q = torch.einsum("ihd,bpd->biph", w["W_Q"], x)
    v = torch.einsum("ihd,bpd->biph", w["W_V"], x)
    scores = torch.einsum("biph,biqh->biqp", k, q)
    t = tokens.shape[1]
    mask = torch.tril(torch.ones(t, t, dtype=x.dtype))
    scores = torch.tril(scores) - 1e10 * (1 - mask)
    pattern = torch.softmax(scores / math.sqrt(w["W_K"].shape[1]), dim=-1)
    z = torch.einsum("biph,biqp->biqh", v, pattern)
    z = z.permute(0, 2, 1, 3).reshape(z.shape[0], t, -1)  # b q (i h)
    x = x + torch.einsum("df,bqf->bqd", w["W_O"], z)
    h = torch.relu(torch.einsum("md,bpd->bpm", w["W_in"], x) + w["b_in"])
    x = x + torch.einsum("dm,bpm->bpd", w["W_out"], h) + w["b_out"]
    return x @ w["W_U"]


def to_nanda(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """groklab's parameters in the layouts of Nanda's code."""
    attn, mlp = model.blocks[0].attn, model.blocks[0].mlp
    h, dh, _ = attn.W_O.shape
    return {
        "W_E": model.W_E.T,
        "W_pos": model.W_pos,
        "W_Q": attn.W_Q.transpose(1, 2),
        "W_K": attn.W_K.transpose(1, 2),
        "W_V": attn.W_V.transpose(1, 2),
        "W_O": attn.W_O.reshape(h * dh, -1).T,
        "W_in": mlp.W_in.T,
        "b_in": mlp.b_in,
        "W_out": mlp.W_out.T,
        "b_out": mlp.b_out,
        "W_U": model.W_U,
    }


def build_nanda(p: int, seed: int = 0, **model_kwargs) -> tuple[torch.nn.Module, object]:
    from dataclasses import replace

    data = make_dataset(DataSpec(op="add", p=p, layout="x_y_eq"))
    spec = replace(PRESETS["nanda2023"], **model_kwargs)
    model = build_model(
        spec,
        d_vocab=data.d_vocab,
        n_ctx=data.inputs.shape[1],
        d_out=data.d_out,
        generator=torch.Generator().manual_seed(seed),
    )
    return model, data


def test_nanda2023_logits_equal_a_plain_reimplementation_of_nandas_forward_in_fp64():
    model, data = build_nanda(13, d_model=32, n_heads=4, d_mlp=64)
    model = model.double()
    with torch.no_grad():  # a trained-looking model: biases away from their zero init
        model.blocks[0].mlp.b_in.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
        model.blocks[0].mlp.b_out.normal_(0, 0.5, generator=torch.Generator().manual_seed(2))
        expected = nanda_forward(to_nanda(model), data.inputs)[:, -1]
        got = model(data.inputs)
    assert got.shape == (13 * 13, 13)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


def test_nanda_layout_is_x_y_eq_with_vocabulary_p_plus_1_and_p_logits():
    data = make_dataset(DataSpec(op="add", p=7, layout="x_y_eq"))
    assert data.d_vocab == 8 and data.d_out == 7
    assert data.inputs.shape == (49, 3)
    assert data.inputs[7 * 3 + 5].tolist() == [3, 5, 7]
    assert data.targets[7 * 3 + 5].item() == (3 + 5) % 7


def test_nanda2023_init_draws_w_u_with_std_one_over_sqrt_d_vocab():
    model, data = build_nanda(113)
    assert data.d_vocab == 114
    w_u, w_e, w_in = model.W_U.detach(), model.W_E.detach(), model.blocks[0].mlp.W_in.detach()
    # 128 x 113 draws: the sample std is within 2 % of the true one
    assert abs(w_u.std().item() * math.sqrt(114) - 1) < 0.02
    assert abs(w_e.std().item() * math.sqrt(128) - 1) < 0.03
    assert abs(w_in.std().item() * math.sqrt(128) - 1) < 0.02
    assert w_u.shape == (128, 113)
    assert torch.equal(model.blocks[0].mlp.b_in.detach(), torch.zeros(512))


def test_init_normal_keeps_w_u_over_sqrt_d_model():
    model, _ = build_nanda(113, init="normal")
    assert abs(model.W_U.detach().std().item() * math.sqrt(128) - 1) < 0.02
