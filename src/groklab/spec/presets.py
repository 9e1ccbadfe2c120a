"""Named model shapes: the founding papers' exact architectures (`--model NAME`)."""

from __future__ import annotations

from groklab.spec.sections import ModelSpec

PRESETS: dict[str, ModelSpec] = {
    # Power et al. 2022 and the official code: post-LN, ReLU, no MLP biases, sinusoidal positions.
    "power2022": ModelSpec(),
    # Nanda et al. 2023 (and Omnigrok Fig. 6/8): 1 layer, no LayerNorm, learned positions,
    # weights N(0, 1)/sqrt(d_model) but W_U N(0, 1)/sqrt(d_vocab), MLP biases, no attention
    # biases. Nanda's input is `x y =`: the preset's data layout is in PRESET_LAYOUTS.
    "nanda2023": ModelSpec(
        n_layers=1, norm="none", positions="learned", mlp_bias=True, init="normal_vocab"
    ),
    # A one-hot-embedding MLP baseline: embeddings of x and y concatenated, hidden ReLU layers.
    "mlp": ModelSpec(arch="mlp", n_layers=2, d_mlp=512, mlp_bias=True),
    # Omnigrok (Liu, Michaud, Tegmark 2023). An MLP on features has n_layers hidden layers of
    # d_mlp; the LSTM embeds to d_model and has n_layers of d_mlp hidden units.
    "omnigrok_teacher": ModelSpec(arch="mlp", n_layers=2, d_mlp=100, act="tanh", mlp_bias=True),
    "omnigrok_mnist": ModelSpec(arch="mlp", n_layers=2, d_mlp=200, mlp_bias=True),
    "omnigrok_toy": ModelSpec(arch="mlp", n_layers=2, d_mlp=200, act="leaky_relu", mlp_bias=True),
    # Prieto et al. 2025 ("Grokking at the edge of numerical stability"): one-hot [x; y] ->
    # 200 -> 200 -> p, ReLU, no biases.
    "prieto2025": ModelSpec(arch="mlp", n_layers=2, d_mlp=200, inputs="onehot"),
    "omnigrok_imdb": ModelSpec(arch="lstm", n_layers=2, d_model=64, d_mlp=256, mlp_bias=True),
    "omnigrok_qm9": ModelSpec(arch="nnconv", n_layers=2, d_model=32, d_mlp=32, mlp_bias=True),
}

# The token layout (`DataSpec.layout`) a preset was trained on in its paper; `--model NAME` (or
# `[model] preset`) uses it for a table unless the layout is given too. Others: "x_op_y_eq".
PRESET_LAYOUTS: dict[str, str] = {"nanda2023": "x_y_eq"}
