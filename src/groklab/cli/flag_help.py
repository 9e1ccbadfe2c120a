"""What each spec field's flag does, and the values it allows, for `groklab train --help`.

The allowed values come from the spec's own choice tuples (spec/sections.py), the data sets
and operations from their catalogue (groklab/catalog.py), so the help cannot drift from what
the spec accepts.
A plug-in's knobs carry their help in their declaration (groklab/plugins.py).
tests/cli/test_flag_help.py checks that every field has a line here and every choice is listed.
"""

from __future__ import annotations

from groklab.catalog import DATASETS, OPERATIONS
from groklab.plugins import PLUGINS
from groklab.spec import sections as s

# (section, field) -> what the flag does; "members" holds the per-member fields
FIELD_HELP: dict[tuple[str, str], str] = {
    ("data", "op"): "the binary operation of dataset=table (groklab ops lists them)",
    ("data", "p"): "the modulus of the operation table (S5 operations ignore it)",
    ("data", "dataset"): "the task: an operation table or one of Omnigrok's data sets",
    ("data", "n_examples"): "cap the pool of examples to this many (0: the data set's own size)",
    ("data", "messiness"): "weight of the messy part of the representation, in [0, 1] (0: "
    "perfectly structured; unset: the data set's natural form)",
    ("data", "seq_len"): "text data sets: tokens per example (0: the data set's default)",
    ("data", "n_words"): "text data sets: vocabulary size (0: the data set's default)",
    ("data", "source"): "a user data file or directory ('' : the offline default)",
    ("data", "data_seed"): "seed of what a generated data set is made of (teacher, templates)",
    ("data", "layout"): "a table's tokens: x_op_y_eq = [x, op, y, =] (Power), x_y_eq = "
    "[x, y, =] (Nanda; the default of --model nanda2023)",
    ("model", "arch"): "the architecture",
    ("model", "n_layers"): "number of layers (blocks)",
    ("model", "d_model"): "width of the residual stream / hidden layers",
    ("model", "n_heads"): "attention heads (must divide d_model)",
    ("model", "d_mlp"): "hidden width of each MLP block",
    ("model", "act"): "activation function",
    ("model", "norm"): "LayerNorm placement in a transformer block",
    ("model", "positions"): "positional embedding of a transformer",
    ("model", "attn_bias"): "biases in the attention projections (true/false)",
    ("model", "mlp_bias"): "biases in the MLP layers (true/false)",
    ("model", "init"): "weight initialisation (default: PyTorch's)",
    ("model", "inputs"): "how an MLP reads the tokens",
    ("model", "leaky_slope"): "negative slope of act=leaky_relu",
    ("optim", "optimizer"): "the optimizer (lr and weight decay are per member)",
    ("optim", "beta1"): "Adam's first-moment decay",
    ("optim", "beta2"): "Adam's second-moment decay",
    ("optim", "eps"): "Adam's epsilon",
    ("optim", "warmup_steps"): "linear lr warm-up over this many steps",
    ("optim", "schedule"): "lr schedule after the warm-up",
    ("optim", "decay_to"): "weight decay pulls toward the origin or the initial weights",
    ("optim", "grad_clip"): "clip each member's gradient to this L2 norm (0: off)",
    ("optim", "transforms"): "gradient transforms between backward and the optimizer, in "
    "order, comma-separated",
    ("optim", "group_lr"): "the lr of a parameter group the model declares, instead of the "
    "member's: group=value, comma-separated (e.g. representation=1e-3)",
    ("optim", "group_weight_decay"): "the weight decay of a parameter group the model "
    "declares, instead of the member's: group=value, comma-separated (e.g. representation=0)",
    ("interventions", "norm_constraint"): "hold each member's weight norm at its initial value "
    "(Omnigrok's constrained runs; true/false)",
    ("train", "steps"): "the step budget: training ends here unless the stop rule ends it first",
    ("train", "batch_size"): "a count, a fraction of the training set, power (Power et al.: "
    "min(512, |train|/2)) or full",
    ("train", "eval_every"): "evaluate every this many steps (and at the last step)",
    ("train", "stop_at_val_acc"): "stop once every member's val_acc is at or above this (0: "
    "never stop early; train all --steps)",
    ("train", "stop_patience"): "with --stop-at-val-acc: evaluations in a row each member must "
    "hold it",
    ("train", "dtype"): "dtype of parameters and activations; auto: bf16 autocast where the "
    "hardware has fast bf16 and the grokking check passed (benchmarks/RESULTS.md), else float32; "
    "the run records the resolved dtype",
    ("train", "loss_dtype"): "dtype of the log-softmax in the loss",
    ("train", "loss"): "the loss (stablemax: Prieto et al. 2025, in float64)",
    ("members", "seed"): "seeds, one member each: 0, 0-7 or 0,3,5",
    ("members", "train_fraction"): "fraction of the pool used for training, in (0, 1)",
    ("members", "lr"): "learning rate",
    ("members", "weight_decay"): "decoupled weight decay (AdamW), or L2 for adam_l2",
    ("members", "init_scale"): "multiply the initial weights by this (Omnigrok's alpha)",
    ("members", "dropout"): "dropout probability",
    ("members", "n_outliers"): "training examples given a wrong label",
    ("members", "grad_noise"): "std of Gaussian noise added to the gradient",
    ("members", "update_noise"): "std of Gaussian noise added to each update",
    ("members", "weight_noise"): "std of Gaussian noise added to the weights each step",
    ("members", "n_train"): "exactly this many training examples (0: use train_fraction)",
}


def plug_in_help() -> dict[tuple[str, str], str]:
    """The help of the fields a plug-in reads, declared by the plug-in itself (its knobs in
    groklab/plugins.py): 'grokfast_ema: EMA decay ...', 'optimizer=muon: momentum'."""
    return {
        (knob.section, knob.name): f"{plugin.label}: {knob.help}"
        for plugin in PLUGINS.values()
        for knob in plugin.knobs
    }


def field_choices() -> dict[tuple[str, str], tuple[str, ...]]:
    """(section, field) -> its allowed values, for every field that takes a name."""
    return {
        ("data", "op"): tuple(OPERATIONS),
        ("data", "dataset"): tuple(DATASETS),
        ("model", "arch"): s.ARCHS,
        ("model", "act"): s.ACTIVATIONS,
        ("model", "norm"): s.NORMS,
        ("model", "positions"): s.POSITIONS,
        ("model", "init"): s.INITS,
        ("data", "layout"): s.LAYOUTS,
        ("model", "inputs"): s.MLP_INPUTS,
        ("optim", "optimizer"): s.OPTIMIZERS,
        ("optim", "schedule"): s.SCHEDULES,
        ("optim", "decay_to"): s.DECAY_TARGETS,
        ("optim", "transforms"): s.TRANSFORM_NAMES,
        ("train", "dtype"): (*s.DTYPES, "auto"),
        ("train", "loss_dtype"): s.LOSS_DTYPES,
        ("train", "loss"): s.LOSSES,
    }


# Flags whose CLI default differs from the spec field's: resolved before the spec is built
CLI_DEFAULTS: dict[tuple[str, str], object] = {("train", "dtype"): "auto"}


def flag_help(section: str, name: str, default: object) -> str:
    """'the optimizer ...; one of: adamw, adam, ... (default: adamw)'."""
    text = FIELD_HELP.get((section, name)) or plug_in_help()[(section, name)]
    choices = field_choices().get((section, name))
    allowed = f"; one of: {', '.join(choices)}" if choices else ""
    default = CLI_DEFAULTS.get((section, name), default)
    shown = "unset" if default is None else ("none" if default == () else default)
    return f"{text}{allowed} (default: {shown})".replace("%", "%%")
