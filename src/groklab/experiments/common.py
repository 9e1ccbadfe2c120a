"""The kit every experiment shares: the small models of the Power et al. 2022 quick and micro
sizes, how a setting reads in a note, what a size shrank from the paper, running points and
sweeps from an ExperimentContext (the store reused, one progress bar per experiment), recipes
compared as populations (`Recipe`, `recipe_run`) and numbers read off a member's curves
(`curve_numbers`).

A size is a frozen dataclass of settings (`p`, `model`, `lr`, `steps`, ...), one instance per
size name. A note is a template and what to show of a size, or a rule `(size, paper) ->
phrases`; `shrunk_text` joins the phrases of the notes whose value the size changed:

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Size:
...     p: int
...     steps: int
>>> paper = Size(p=97, steps=100_000)
>>> shrunk_text(Size(p=31, steps=2_000), paper, (P, STEPS))
'p = 31 (paper 97); budget 2,000 steps (paper 100,000)'
>>> shrunk_text(paper, paper, (P, STEPS))
''
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from groklab.analysis import steps_to_threshold
from groklab.analysis.curves import acc_at
from groklab.data import OPS
from groklab.errors import SpecError
from groklab.experiments.base import ExperimentContext
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.sweep import SweepResult, SweepSpec, expand
from groklab.sweep import run as sweep_run
from groklab.sweep.grid import grid_points
from groklab.train import TrainResult

THRESHOLD = 0.99  # validation accuracy that counts as generalized, as in the paper

# A one-hidden-layer MLP on concatenated 64-d embeddings: a few ms per step for a population
# of 6 on one CPU thread, where the paper's transformer takes ~35 ms for one member. With lr
# 1e-2 it fits the training split within ~100 steps and, at wd 1, generalizes on x+y mod 31
# at 60 % within 2,000 steps (benchmarks/results/power2022_ops_interventions.md).
QUICK_MLP = ModelSpec(arch="mlp", n_layers=1, d_model=64, d_mlp=256, mlp_bias=True)
MICRO_MLP = ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=16, mlp_bias=True)


def pow10(exponents: Sequence[float] | np.ndarray) -> np.ndarray:
    """10 ** each exponent, correctly rounded. numpy's vectorised power is not: its result's
    last bit depends on the CPU's SIMD kernels (AVX2 and AVX-512 differ), and a grid value
    goes into a run id, so a grid must not depend on the machine that builds it."""
    with localcontext() as ctx:
        ctx.prec = 40
        return np.array([float(Decimal(10) ** Decimal(float(x))) for x in exponents])


@dataclass(frozen=True, kw_only=True)
class RunSize:
    """What every size of a trained experiment sets; an experiment's size adds its own."""

    model: ModelSpec
    lr: float
    steps: int  # the budget
    eval_every: int


def single_run(
    size: RunSize,
    data: DataSpec,
    *,
    optim: OptimSpec | None = None,
    train: dict | None = None,
    **member: object,
) -> RunSpec:
    """One member of the size's model on `data`, trained for the size's budget with full
    batches and evaluated every `size.eval_every` steps (`train`: other TrainSpec fields), at
    the size's lr (unless `member` sets one) with `member`'s fields (seed, weight decay, ...)."""
    settings = {"steps": size.steps, "batch_size": "full", "eval_every": size.eval_every}
    members = members_from(**{"lr": size.lr, **member})
    return RunSpec(
        data=data,
        model=size.model,
        optim=optim or OptimSpec(),
        train=TrainSpec(**{**settings, **(train or {})}),
        members=members,
    )


def describe_model(model: ModelSpec, shape: tuple[int, int] | None = None) -> str:
    """The model as its paper names it: 'transformer 2x128 (4 heads, MLP 512)', 'MLP, 1 hidden
    layer of 256 on 64-d embeddings', 'MLP one-hot [x; y] -> 200 -> 200 -> p, relu', 'embedding
    64, 2 LSTM layers of 256', 'NNConv 32-16, edge nets and readout 32'; an MLP of vectors with
    `shape` (inputs, outputs) (784, 10): 'MLP 784-200-200-10, relu'."""
    plural = "s" if model.n_layers > 1 else ""
    hidden = [str(model.d_mlp)] * model.n_layers
    if model.arch == "lstm":
        return f"embedding {model.d_model}, {model.n_layers} LSTM layer{plural} of {model.d_mlp}"
    if model.arch == "nnconv":
        widths = "-".join(str(model.d_model // 2**i) for i in range(model.n_layers))
        return f"NNConv {widths}, edge nets and readout {model.d_mlp}"
    if model.arch == "mlp" and shape:
        return f"MLP {shape[0]}-{'-'.join(hidden)}-{shape[1]}, {model.act}"
    if model.arch == "mlp" and model.inputs == "onehot":
        return f"MLP one-hot [x; y] -> {' -> '.join(hidden)} -> p, {model.act}"
    if model.arch == "mlp":
        layers = f"{model.n_layers} hidden layer{plural}"
        return f"MLP, {layers} of {model.d_mlp} on {model.d_model}-d embeddings"
    return (
        f"transformer {model.n_layers}x{model.d_model} ({model.n_heads} heads, MLP {model.d_mlp})"
    )


def describe_batch(batch_size: int | float | str) -> str:
    """'min(512, |train|/2)' for the paper's rule "power", '0.5 of |train|' for a fraction."""
    if batch_size == "power":
        return "min(512, |train|/2)"
    if isinstance(batch_size, float):
        return f"{batch_size:g} of |train|"
    return str(batch_size)  # a size, or "full"


def describe_values(values: Sequence[float]) -> str:
    """'0.4, 0.6, 0.8'."""
    return ", ".join(f"{v:g}" for v in values)


def describe_op(op: str, p: int) -> str:
    """'x / y (mod 97)': the operation's formula with p filled in ('x * y (in S5)' for S5)."""
    return OPS[op].formula.replace("mod p", f"mod {p}")


def describe_batch_and_lr(size: Any) -> str:
    """'full, lr 0.01': a size's batch and learning rate."""
    return f"{describe_batch(size.batch_size)}, lr {size.lr:g}"


Rule = Callable[[Any, Any], list[str]]  # (size, paper) -> phrases, [] where nothing changed
Note = tuple[str, Callable[[Any], Any]] | Rule  # ("... {} ... (paper {})", what to show)


def shown(key: str, show: Callable[[Any], Any] = str) -> Callable[[Any], Any]:
    """What a note shows of a size: `show` of its setting `key`."""
    return lambda size: show(getattr(size, key))


P: Note = ("p = {} (paper {})", shown("p"))
MODEL: Note = ("model {} (paper {})", shown("model", describe_model))
LR: Note = ("lr {} (paper {})", shown("lr", "{:g}".format))
WEIGHT_DECAY: Note = ("weight decay {} (paper {})", shown("weight_decay", "{:g}".format))
STEPS: Note = ("budget {} steps (paper {})", shown("steps", "{:,}".format))
BATCH: Note = ("batch {} (paper {})", shown("batch_size", describe_batch))
FRACTIONS: Note = ("fractions {} (paper {})", shown("fractions", describe_values))
SEEDS: Note = ("{} seeds (paper {})", shown("seeds", len))
BATCH_AND_LR: Note = ("batch {} (paper {})", describe_batch_and_lr)
GRID_NOTES = (P, MODEL, LR, WEIGHT_DECAY, STEPS, BATCH, FRACTIONS, SEEDS)  # fraction x seed grids


@dataclass(frozen=True, kw_only=True)
class GridSize(RunSize):
    """A size of a training fraction x seed grid (GRID_NOTES say what it shrank)."""

    p: int
    weight_decay: float
    batch_size: int | str
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]


def grid_base(size: GridSize, op: str, optim: OptimSpec | None = None) -> RunSpec:
    """The base run of a grid: `op` mod p with the size's model, lr, weight decay, batch and
    budget; a population stops once every member has generalized."""
    train = TrainSpec(
        steps=size.steps,
        batch_size=size.batch_size,
        eval_every=size.eval_every,
        stop_at_val_acc=THRESHOLD,
    )
    members = members_from(lr=size.lr, weight_decay=size.weight_decay)
    data = DataSpec(op=op, p=size.p)
    return RunSpec(
        data=data, model=size.model, optim=optim or OptimSpec(), train=train, members=members
    )


@dataclass(frozen=True, kw_only=True)
class BudgetsSize(RunSize):
    """A size whose runs each have their own budget (run name -> steps); `steps` is the
    longest, set from them."""

    budgets: dict[str, int]
    steps: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", max(self.budgets.values()))


def describe_budgets(size: BudgetsSize) -> str:
    """'baseline 5,000, adamw 3,000': each run's budget."""
    return ", ".join(f"{name} {steps:,}" for name, steps in size.budgets.items())


BUDGETS: Note = ("budgets {} steps (paper {})", describe_budgets)


def shrunk_notes(size: Any, paper: Any, notes: Sequence[Note] = GRID_NOTES) -> list[str]:
    """One phrase per note whose shown value `size` changed from `paper` (a rule's own
    phrases), in order; [] for the paper."""
    phrases = []
    for note in notes:
        if callable(note):
            phrases += note(size, paper)
            continue
        template, show = note
        new, old = show(size), show(paper)
        if new != old:
            phrases.append(template.format(new, old))
    return phrases


def shrunk_text(size: Any, paper: Any, notes: Sequence[Note] = GRID_NOTES) -> str:
    """What `size` changed from `paper`, as one line for a figure and a table ("" for it)."""
    return "; ".join(shrunk_notes(size, paper, notes))


def train_points(
    points: Sequence[RunSpec], ctx: ExperimentContext, *, max_members: int = 64
) -> SweepResult:
    """`groklab.sweep.run.run_points` on the context's store, backend, device and progress:
    one row of summary numbers per single-member spec, in order."""
    return sweep_run.run_points(
        points,
        ctx.store_root,
        max_members=max_members,
        backend=ctx.backend,
        options=ctx.options,
        progress=ctx.progress,
    )


def population_of(result: SweepResult, row: dict) -> TrainResult:
    """The population a row's member trained in (its curves are `curves[k][row["member"]]`)."""
    return next(r for r in result.results if r.run_id == row["run_id"])


@dataclass(frozen=True)
class Recipe:
    """One population of a comparison of training recipes: an optimizer, its weight decay, the
    gradient transforms before it and the loss (every member has the size's lr)."""

    name: str
    label: str
    optimizer: str
    weight_decay: float
    transforms: tuple[str, ...] = ()
    loss: str = "ce"
    optim: dict = field(default_factory=dict)  # further OptimSpec fields
    member: dict = field(default_factory=dict)  # further MemberSpec fields


def recipe_run(
    size: BudgetsSize, recipe: Recipe, data: DataSpec, seed: int, optim: dict, train: dict
) -> RunSpec:
    """One member of `recipe` on `data` for the recipe's budget: `optim` and `train` hold what
    every recipe of the experiment shares (OptimSpec, TrainSpec fields), the recipe the rest."""
    shared = {"transforms": recipe.transforms, **optim}
    return single_run(
        size,
        data,
        optim=OptimSpec(**{"optimizer": recipe.optimizer, **shared, **recipe.optim}),
        train={"steps": size.budgets[recipe.name], "loss": recipe.loss, **train},
        seed=seed,
        train_fraction=size.train_fraction,
        weight_decay=recipe.weight_decay,
        **recipe.member,
    )


EXTREMES = {"best": (np.nanargmax, np.nanmax), "lowest": (np.nanargmin, np.nanmin)}
ENDS = {"initial": 0, "final": -1}


def curve_numbers(curves: dict[str, np.ndarray], columns: dict[str, str]) -> dict[str, float]:
    """Numbers read off one member's curves ({"step": [S], metric: [1, S]}), one per column,
    each written as what it reads: "first val_acc 0.95" (the first step at or above 0.95, nan:
    never; "first val_loss <= 1": at or below), "initial weight_norm", "final train_loss",
    "best val_acc" (the highest), "lowest val_loss", "when best val_acc" (its step), "final
    step", or "at val_acc 1000" (at the last evaluation at or before step 1,000, nan past the
    last; the step may name an earlier column: "at val_acc steps_to_train")."""
    steps, out = curves["step"], {}
    for name, reading in columns.items():
        words = reading.split()
        when = words[0] == "when"  # "when best val_acc": the step of the best
        how, metric, *arg = words[when:]
        values = steps if metric == "step" else curves[metric][0]  # [S]
        if how == "first":
            sign = -1.0 if arg[0] == "<=" else 1.0  # the first step at or below
            out[name] = float(steps_to_threshold(steps, sign * values, sign * float(arg[-1])))
        elif how == "at":
            out[name] = acc_at(steps, values, float(out.get(arg[0], arg[0])))
        elif how in EXTREMES:
            where, extreme = EXTREMES[how]
            out[name] = float(steps[where(values)] if when else extreme(values))
        elif how in ENDS:
            out[name] = float(values[ENDS[how]])
        else:  # a misspelt reading would otherwise read something else
            raise ValueError(
                f"reading {reading!r} of {name!r}: how {how!r} is not one of "
                f"first, at, {', '.join([*EXTREMES, *ENDS])}"
            )
    return out


def recipe_row(column: str, recipe, seed: int, settings: dict, budget: int, row: dict) -> dict:
    """The CSV row of one member of a recipe (its `name`, `weight_decay` and `transforms`):
    {column: its name, "seed", *settings, "weight_decay", "transforms", "budget", "run_id",
    "member"}; the experiment adds its numbers."""
    return {
        column: recipe.name,
        "seed": seed,
        **settings,
        "weight_decay": recipe.weight_decay,
        "transforms": "+".join(recipe.transforms) or "none",
        "budget": budget,
        "run_id": row["run_id"],
        "member": row["member"],
    }


def member_curves(
    result: SweepResult, row: dict, *, evaluated_only: bool = False
) -> dict[str, np.ndarray]:
    """The curves of one row's member as a population of one: {"step": [S], metric: [1, S]};
    `evaluated_only` drops the steps it was not evaluated at (a packed member may skip steps
    its population evaluated for others)."""
    curves = population_of(result, row).curves
    m = row["member"]
    member = {k: (v if k == "step" else v[m : m + 1]) for k, v in curves.items()}
    if not evaluated_only:
        return member
    seen = np.isfinite(member["val_acc"][0])  # [S]
    return {k: (v[seen] if k == "step" else v[:, seen]) for k, v in member.items()}


def run_sweeps(sweeps: Sequence[SweepSpec], ctx: ExperimentContext) -> SweepResult:
    """Every point of every sweep as one job (one progress bar): a row per point in sweep
    order, its grid values then its summary; points of one shape share populations."""
    sizes = sorted({sweep.max_members for sweep in sweeps})
    if len(sizes) > 1:
        raise SpecError(f"sweeps run together pack alike; got max_members {sizes}")
    grid = [point for sweep in sweeps for point in grid_points(sweep)]
    specs = [spec for sweep in sweeps for spec in expand(sweep)]
    result = train_points(specs, ctx, max_members=sizes[0])
    return replace(result, rows=[{**g, **row} for g, row in zip(grid, result.rows, strict=True)])


def keeping_checkpoints(ctx: ExperimentContext, rule: str) -> ExperimentContext:
    """The context keeping checkpoints by `rule` ('every:N', 'log:N'), for an experiment that
    measures kept members after training. A rule the user gave (`--keep-checkpoints`,
    anything but 'none') is kept."""
    if ctx.options.keep_checkpoints.keeps_any:
        return ctx
    return replace(ctx, options=ctx.options.with_fields(keep_checkpoints=rule))
