"""The sections of a run spec (task, model, optimizer, interventions, training) and its members.

Each is a frozen dataclass that checks itself in `__post_init__`; `SECTIONS` maps the TOML
section names (and CLI flag groups) to them. The knobs of the plug-ins (gradient transforms,
optimizers, lr schedules) are declared by each plug-in in groklab/plugins.py and become fields
of `OptimSpec` and `MemberSpec` after their own (spec/knobs.py `with_knobs`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from groklab.catalog import DATASETS, OPERATIONS, check_op_p
from groklab.errors import SpecError
from groklab.plugins import plugin_names
from groklab.spec.checks import (
    check_choice,
    check_float,
    check_group_values,
    check_int,
    check_names,
    store_floats,
)
from groklab.spec.knobs import check_knobs, with_knobs

ARCHS = ("transformer", "mlp", "lstm", "nnconv", "toy")
ACTIVATIONS = ("relu", "gelu", "tanh", "leaky_relu")
NORMS = ("post", "pre", "none")
POSITIONS = ("sinusoidal", "learned")
# "normal": every weight N(0, 1)/sqrt(d_model), biases 0; "normal_vocab": the same but W_U
# N(0, 1)/sqrt(d_vocab), as Nanda et al. 2023's code initialises it (transformers only).
INITS = ("default", "normal", "normal_vocab")
# The optimizers, lr schedules and gradient transforms the plug-ins declare (groklab/plugins.py)
OPTIMIZERS = plugin_names("optimizer")  # adamw, adam, adam_l2, sgd, muon, ...
SCHEDULES = plugin_names("schedule")  # constant, cosine, step, ...
MLP_INPUTS = ("embed", "onehot")
DECAY_TARGETS = ("origin", "init")
BATCH_RULES = ("power", "full")
DTYPES = ("float32", "bf16", "float64")
LOSS_DTYPES = ("float32", "float64")
LOSSES = ("ce", "mse", "bce", "stablemax")
# How a table's example is written as tokens: Power et al.'s `x op y =` (vocabulary n + 2,
# 4 positions) or Nanda et al.'s `x y =` (vocabulary n + 1, 3 positions); n answer logits.
LAYOUTS = ("x_op_y_eq", "x_y_eq")
# The gradient transforms `[optim] transforms` may list (train/transforms.py TRANSFORM_ENTRIES)
TRANSFORM_NAMES = plugin_names("transform")  # grokfast_ema, grokfast_ma, orthograd, egd, ...


@dataclass(frozen=True)
class DataSpec:
    """The task. `dataset="table"` is a binary-operation table (Power et al. 2022, Sec. 2) of
    `op` mod `p`; for the S5 operations p is meaningless and stored as 5 (the group acts on 5
    points), so one S5 task has one id. The other data sets are Omnigrok's (Liu et al. 2023,
    *Omnigrok*); `groklab.catalog.DATASETS` lists them with the fields each reads, and
    `groklab.catalog.OPERATIONS` the ops with the p each allows.
    Fields a data set does not use are stored at their defaults, so one task has one id.

    `n_examples` caps the pool of examples (0: the data set's own size), `messiness` is the
    weight of the messy part of a representation (Omnigrok Fig. 6-8: 0 = perfectly structured;
    None = the data set's natural form: 0 for toy_add, 1 = plain images for mnist), `seq_len`
    and `n_words` shape a text data set, `source` is a user-supplied file or directory ("" =
    the offline default), `data_seed` draws what a generated data set is made of (teacher
    weights, templates). `layout` is how a table's example is written as tokens (`LAYOUTS`):
    "x_op_y_eq" = `[x, op, y, =]` (Power et al. 2022) or "x_y_eq" = `[x, y, =]` (Nanda et
    al. 2023).
    """

    op: str = "div"
    p: int = 97
    dataset: str = "table"
    n_examples: int = 0
    messiness: float | None = None
    seq_len: int = 0
    n_words: int = 0
    source: str = ""
    data_seed: int = 0
    layout: str = "x_op_y_eq"

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, tuple(DATASETS))
        check_int("n_examples", self.n_examples, 0)
        if self.messiness is not None:
            check_float("messiness", self.messiness, 0.0, 1.0)
            object.__setattr__(self, "messiness", float(self.messiness))
        check_int("seq_len", self.seq_len, 0)
        check_int("n_words", self.n_words, 0)
        if not isinstance(self.source, str):
            raise SpecError(f"source={self.source!r} is not a path")
        check_int("data_seed", self.data_seed, 0, 2**63 - 1)
        check_choice("layout", self.layout, LAYOUTS)
        store_floats(self)
        info = DATASETS[self.dataset]
        for name in DATA_FIELDS:
            if name != "dataset" and name not in info.fields:
                object.__setattr__(self, name, DATA_DEFAULTS[name])
            elif getattr(self, name) is None:
                object.__setattr__(self, name, info.defaults[name])
        if self.dataset == "table":
            check_op_p(self.op, self.p)
            p = (
                5 if OPERATIONS[self.op].is_group else int(self.p)
            )  # a numpy integer would not serialize
            object.__setattr__(self, "p", p)
        else:
            info.check(self)


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer (or an MLP on concatenated embeddings) for one member.

    `inputs` is how an MLP reads the operands x and y of a table: learned embeddings of width
    d_model concatenated ("embed"), or their one-hot vectors concatenated ("onehot", Prieto et
    al. 2025). `leaky_slope` is the negative slope of `act="leaky_relu"` (torch's 0.01; the
    Omnigrok code uses 0.2); the MLP reads it.
    """

    arch: str = "transformer"
    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    act: str = "relu"
    norm: str = "post"
    positions: str = "sinusoidal"
    attn_bias: bool = False
    mlp_bias: bool = False
    init: str = "default"
    inputs: str = "embed"
    leaky_slope: float = 0.01

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHS)
        check_int("n_layers", self.n_layers, 1, 64)
        check_int("d_model", self.d_model, 1, 65536)
        check_int("n_heads", self.n_heads, 1, 1024)
        check_int("d_mlp", self.d_mlp, 1, 1 << 20)
        if self.d_model % self.n_heads:
            raise SpecError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        check_choice("act", self.act, ACTIVATIONS)
        check_choice("norm", self.norm, NORMS)
        check_choice("positions", self.positions, POSITIONS)
        check_choice("init", self.init, INITS)
        if self.init == "normal_vocab" and self.arch != "transformer":
            raise SpecError(f"init='normal_vocab' is for arch='transformer'; arch={self.arch!r}")
        check_choice("inputs", self.inputs, MLP_INPUTS)
        if self.inputs != "embed" and self.arch != "mlp":
            raise SpecError(f"inputs={self.inputs!r} is for arch='mlp'; arch={self.arch!r}")
        check_float("leaky_slope", self.leaky_slope, 0.0, 1.0)
        if self.leaky_slope != 0.01 and self.arch != "mlp":
            raise SpecError(
                f"leaky_slope={self.leaky_slope} is read by arch='mlp' only; arch={self.arch!r}"
            )
        store_floats(self)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


@dataclass(frozen=True)
@with_knobs("optim")
class OptimSpec:
    """The optimizer shared by all members; lr and weight_decay are per member (MemberSpec).

    The plug-ins' run-wide knobs follow these fields, as each plug-in declares them in
    groklab/plugins.py: e.g. SGD's `momentum`, Muon's `muon_momentum`, grokfast_ma's
    `grokfast_ma_window`, the step schedule's `step_every` and `step_factor`.
    """

    optimizer: str = "adamw"
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-8
    warmup_steps: int = 10
    schedule: str = "constant"
    decay_to: str = "origin"
    grad_clip: float = 0.0  # clip each member's gradient to this global L2 norm; 0 = off
    transforms: tuple[str, ...] = ()  # gradient transforms, in order (train/transforms.py)
    # per-parameter-group overrides, "group=value", for the groups the model declares
    # (its PARAMETER_GROUPS, e.g. the toy's representation and decoder): that group's lr or
    # weight decay instead of the member's (the same for every member)
    group_lr: tuple[str, ...] = ()
    group_weight_decay: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("beta1", self.beta1, 0.0, 1.0, open_hi=True)
        check_float("beta2", self.beta2, 0.0, 1.0, open_hi=True)
        check_float("eps", self.eps, 0.0, open_lo=True)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("decay_to", self.decay_to, DECAY_TARGETS)
        check_float("grad_clip", self.grad_clip, 0.0)
        object.__setattr__(
            self, "transforms", check_names("transforms", self.transforms, TRANSFORM_NAMES)
        )
        check_knobs(self, "optim")
        for name in ("group_lr", "group_weight_decay"):
            object.__setattr__(self, name, check_group_values(name, getattr(self, name)))
        if (self.group_lr or self.group_weight_decay) and self.optimizer == "muon":
            raise SpecError("group_lr and group_weight_decay are not read by optimizer='muon'")
        store_floats(self)


@dataclass(frozen=True)
class InterventionSpec:
    """Changes to plain training, each applied at one documented point of the step."""

    norm_constraint: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.norm_constraint, bool):
            raise SpecError(f"norm_constraint={self.norm_constraint!r} is not true or false")


@dataclass(frozen=True)
class TrainSpec:
    """How long and how to train and evaluate (the same for every member)."""

    steps: int = 100_000
    batch_size: int | float | str = "power"  # a count, a fraction of |train|, power or full
    eval_every: int = 100
    stop_at_val_acc: float = 0.0
    stop_patience: int = 1  # evaluations in a row at or above stop_at_val_acc
    dtype: str = "float32"
    loss_dtype: str = "float32"
    # ce, mse (against one-hot or class templates; or regression), bce, stablemax (Prieto et
    # al. 2025's cross-entropy through s(x) = x + 1 or 1 / (1 - x), in float64)
    loss: str = "ce"

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        if isinstance(self.batch_size, str):
            allowed = BATCH_RULES + ("<positive integer>", "<fraction in (0, 1]>")
            check_choice("batch_size", self.batch_size, allowed)
        elif isinstance(self.batch_size, float):
            check_float("batch_size", self.batch_size, 0.0, 1.0, open_lo=True)
        else:
            check_int("batch_size", self.batch_size, 1)
        check_int("eval_every", self.eval_every, 1)
        check_float("stop_at_val_acc", self.stop_at_val_acc, 0.0, 1.0)
        check_int("stop_patience", self.stop_patience, 1)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("loss_dtype", self.loss_dtype, LOSS_DTYPES)
        check_choice("loss", self.loss, LOSSES)
        store_floats(self)


@dataclass(frozen=True)
@with_knobs("members")
class MemberSpec:
    """What may differ between the members of one population.

    The interventions of Power et al. 2022 (Fig. 2 center/right) are per member, so one
    population can compare them: `dropout` after each MLP, `n_outliers` training answers
    replaced by wrong ones (label noise), and Gaussian noise of the given standard deviation
    added to the gradient (`grad_noise`), to the normalized Adam update (`update_noise`) or to
    the weights for the forward pass only (`weight_noise`). `init_scale` multiplies every
    initial parameter (Omnigrok's alpha). The plug-ins' per-member knobs follow these
    fields, as each plug-in declares them in groklab/plugins.py: e.g. grokfast_ema's
    `grokfast_ema_lamb`, Muon's `muon_lr` (the lr of the 2-D hidden weights).
    """

    seed: int = 0
    train_fraction: float = 0.5
    lr: float = 1e-3
    weight_decay: float = 1.0
    init_scale: float = 1.0
    dropout: float = 0.0
    n_outliers: int = 0
    grad_noise: float = 0.0
    update_noise: float = 0.0
    weight_noise: float = 0.0
    n_train: int = 0  # exactly this many training examples (0: train_fraction of the pool)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_float("train_fraction", self.train_fraction, 0.0, 1.0, open_lo=True, open_hi=True)
        check_float("lr", self.lr, 0.0, open_lo=True)
        check_float("weight_decay", self.weight_decay, 0.0)
        check_float("init_scale", self.init_scale, 0.0, open_lo=True)
        check_float("dropout", self.dropout, 0.0, 1.0, open_hi=True)
        check_int("n_outliers", self.n_outliers, 0)
        for name in ("grad_noise", "update_noise", "weight_noise"):
            check_float(name, getattr(self, name), 0.0)
        check_int("n_train", self.n_train, 0)
        check_knobs(self, "members")
        store_floats(self)


MAX_MEMBERS = 65536  # a population is one process; bigger sweeps are several populations

SECTIONS: dict[str, type] = {
    "data": DataSpec,
    "model": ModelSpec,
    "optim": OptimSpec,
    "interventions": InterventionSpec,
    "train": TrainSpec,
}
MEMBER_FIELDS = tuple(f.name for f in fields(MemberSpec))
DATA_DEFAULTS = {f.name: f.default for f in fields(DataSpec)}
DATA_FIELDS = tuple(DATA_DEFAULTS)
