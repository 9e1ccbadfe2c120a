"""Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022, "Towards understanding grokking: an
effective theory of representation learning", Sec. 5: phase diagrams of learning.

Every run of a grid over learning rate x weight decay is classified by the steps at which its
train and its test accuracy first reach 90 % within the budget (groklab.analysis.phases):
comprehension (test within 10^3 steps of train), grokking (test later), memorization (test
never) or confusion (train never). The paper finds generalization (comprehension and grokking)
only in a "Goldilocks zone" between memorization and confusion. Two panels:

- Liu et al.'s toy addition model: each symbol 0..9 has a learned 1-D representation E_i
  (uniform in [-1/2, 1/2] at initialization, groklab.models.toy), and a decoder MLP 1-200-200-30
  (tanh, as the authors' toy code) reads E_i + E_j and regresses the random template of the
  answer i + j (19 classes; MSE, correct = nearest template). 45 of the 55 pairs i <= j train.
  The representation trains at its own lr 1e-3 and weight decay 0, the decoder at the cell's:
  the grid is decoder lr x decoder weight decay. Each run's final representation is scored by
  its RQI (groklab.measures.rqi: the fraction of ideal parallelograms E_i + E_n = E_j + E_m it
  satisfies): the paper finds RQI near 1 in comprehension and none in memorization;
- a transformer on x + y mod 59 over lr x weight decay (AdamW).

Both parts use AdamW's betas 0.9/0.999, as the authors' code. Where the toy still differs from
theirs: the templates, the initialization and the train split are drawn from groklab's own
seeds, so a cell's phase is not the paper's cell's, only the diagram's shape is comparable.
The paper's own grids and the transformer it used were not at hand: "paper" is a denser grid
over the same decades with a longer budget, not a copy of the paper's figure. Each panel's
grid is one population (each cell a member with its own lr and weight decay).

Compute at the paper size: ~16 CPU core-hours (each panel 10 lrs x 10 weight decays x 20,000
steps: the toy at ~0.46 ms per member-step in a population of 64, ~0.26 core-hours; the
transformer, Power et al.'s model at batch 512, at ~28 ms, ~15.5 core-hours; one core of the
2-vCPU AMD EPYC in benchmarks/RESULTS.md §23). A cluster job: `--backend ray`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis.phases import (
    PHASES,
    THRESHOLD,
    classify_phases,
    goldilocks_lines,
    phase_counts,
    phase_steps,
)
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import claim, value_at
from groklab.experiments.common import (
    Note,
    describe_model,
    describe_values,
    member_curves,
    train_points,
)
from groklab.experiments.kit import Drawing, Files, Outcome, declare, size_table
from groklab.loader import load
from groklab.measures.rqi import rqi_measure
from groklab.plots.phases import plot_phase_diagram
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore

TITLE = "Liu et al. 2022, phase diagrams"
# The authors' toy: a 1-D learned representation and a decoder tanh MLP, width 200, two hidden
# layers, 30-d output templates. The representation's own lr and weight decay are the paper's;
# a member's lr and weight decay are the decoder's.
TOY_MODEL = ModelSpec(
    arch="toy", n_layers=2, d_model=1, n_heads=1, d_mlp=200, act="tanh", mlp_bias=True
)
REPRESENTATION = {
    "group_lr": ("representation=0.001",),
    "group_weight_decay": ("representation=0",),
}
TOY_OPTIM = OptimSpec(optimizer="adamw", beta1=0.9, beta2=0.999, warmup_steps=0, **REPRESENTATION)
TRANSFORMER_OPTIM = OptimSpec(optimizer="adamw", beta1=0.9, beta2=0.98, warmup_steps=10)
TOY_P, TOY_TRAIN = 10, 45  # 45 of the 55 pairs i <= j, as the paper


def describe_toy(model: ModelSpec) -> str:
    """'decoder MLP 1-200-200-30, tanh, on a learned 1-D representation'."""
    widths = "-".join([str(model.d_model), *[str(model.d_mlp)] * model.n_layers, "30"])
    return f"decoder MLP {widths}, {model.act}, on a learned {model.d_model}-D representation"


def small_transformer(d_model: int, n_heads: int) -> ModelSpec:
    """Nanda et al.'s 1-layer transformer at another width (MLP 4 x d_model)."""
    return replace(PRESETS["nanda2023"], d_model=d_model, n_heads=n_heads, d_mlp=4 * d_model)


@dataclass(frozen=True)
class Grid:
    lrs: tuple[float, ...]  # increasing
    weight_decays: tuple[float, ...]  # increasing, positive (a log axis)
    steps: int  # the budget
    eval_every: int


@dataclass(frozen=True, kw_only=True)
class PhasesSize:
    toy_model: ModelSpec
    toy_p: int
    toy_n_train: int
    toy: Grid
    p: int
    train_fraction: float
    model: ModelSpec
    batch_size: int | str
    transformer: Grid
    seed: int


def decades(lo: int, hi: int, per_decade: int) -> tuple[float, ...]:
    """10 ** lo .. 10 ** hi with `per_decade` values a decade, rounded to 3 digits."""
    n = (hi - lo) * per_decade + 1
    return tuple(float(f"{v:.3g}") for v in np.logspace(lo, hi, n))


PAPER_LRS, PAPER_WDS = decades(-5, -2, 3), decades(-2, 1, 3)
WDS = (0.01, 0.1, 1.0, 10.0)
MICRO_GRID = Grid((1e-3, 1e-2), (0.1, 1.0), 20, 10)
# The toy's decoder lr spans the paper's decades down to 1e-5. Measured at the quick size (a
# loaded 2-core machine, one thread, 167 CPU s for both panels): the toy is confused at decoder
# lr 1e-5 (it does not fit the training pairs in 5,000 steps) and at weight decay 10,
# comprehends at 1e-4 (weight decay 0.01 to 1), and memorizes at 3e-5 and from 3e-4 up: the
# Goldilocks zone runs along lr at weight decay 0.01, 0.1 and 1. RQI separates the phases as
# the paper says: 1.00 in every comprehension run, a median of 0.14 over the memorization
# runs. It also shows what the phase rule misses: the representation is a line (RQI 1.00)
# wherever the decoder is slow (lr <= 1e-4), including the 3e-5 runs counted as memorization,
# whose test accuracy had not reached 90 % by the budget's end, and the confused 1e-5 runs.
QUICK_TOY = Grid((1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2), WDS, 5_000, 50)
# Measured here (transformer, first 700 steps of 4,000): lr 1e-4 and 3e-4 fit nothing (train
# acc <= 0.08), so the quick grid starts at 1e-3 and adds 3e-2. Over the quick grid:
# memorization at small weight decay, confusion at weight decay 10, comprehension and grokking
# between them, grokking on the memorization side.
QUICK_TRANSFORMER = Grid((1e-3, 3e-3, 1e-2, 3e-2), WDS, 3_000, 100)
SIZES = size_table(
    PhasesSize,
    "toy_model toy_p toy_n_train toy",
    {
        "paper": (TOY_MODEL, TOY_P, TOY_TRAIN, Grid(PAPER_LRS, PAPER_WDS, 20_000, 50)),
        "quick": (TOY_MODEL, TOY_P, TOY_TRAIN, QUICK_TOY),
        "micro": (replace(TOY_MODEL, d_mlp=16), 5, 10, MICRO_GRID),
    },
    "p model batch_size transformer",
    {
        "paper": (59, PRESETS["power2022"], 512, Grid(PAPER_LRS, PAPER_WDS, 20_000, 100)),
        "quick": (59, small_transformer(32, 4), 512, QUICK_TRANSFORMER),
        "micro": (7, small_transformer(8, 2), "full", MICRO_GRID),
    },
    train_fraction=0.5,
    seed=0,
)


def describe_grid(grid: Grid) -> str:
    """'lr 1e-4..1e-2 (5) x weight decay 0.01..10 (4), 5,000 steps'."""
    return (
        f"lr {grid.lrs[0]:g}..{grid.lrs[-1]:g} ({len(grid.lrs)}) x weight decay "
        f"{grid.weight_decays[0]:g}..{grid.weight_decays[-1]:g} ({len(grid.weight_decays)}), "
        f"{grid.steps:,} steps"
    )


NOTES: tuple[Note, ...] = (
    ("toy {} (paper {})", lambda s: describe_grid(s.toy)),
    ("toy {} (paper {})", lambda s: describe_toy(s.toy_model)),
    ("toy p = {} (paper {})", lambda s: f"{s.toy_p}, {s.toy_n_train} train pairs"),
    ("transformer {} (paper {})", lambda s: describe_grid(s.transformer)),
    ("transformer p = {} (paper {})", lambda s: s.p),
    ("model {} (paper {})", lambda s: describe_model(s.model)),
    ("batch {} (paper {})", lambda s: s.batch_size),
)


def grid_cells(grid: Grid) -> list[tuple[float, float]]:
    """(lr, weight decay) of every cell, lr outer: row r of the phase grid is lrs[r]."""
    return [(lr, wd) for lr in grid.lrs for wd in grid.weight_decays]


def cell_specs(base: RunSpec, grid: Grid) -> list[RunSpec]:
    """One single-member spec per cell of `grid`: `base` at the cell's lr and weight decay."""
    member = base.members[0]
    return [
        replace(base, members=(replace(member, lr=lr, weight_decay=wd),))
        for lr, wd in grid_cells(grid)
    ]


def toy_points(size: PhasesSize) -> list[RunSpec]:
    """One single-member spec per toy cell: the cell's lr and weight decay are the decoder's,
    the representation trains at its own (TOY_OPTIM)."""
    grid = size.toy
    train = TrainSpec(steps=grid.steps, batch_size="full", eval_every=grid.eval_every, loss="mse")
    data = DataSpec(dataset="toy_add_symbols", p=size.toy_p)
    members = members_from(seed=size.seed, n_train=size.toy_n_train)
    return cell_specs(RunSpec(data, size.toy_model, TOY_OPTIM, train=train, members=members), grid)


def transformer_points(size: PhasesSize) -> list[RunSpec]:
    """One single-member spec per transformer cell on x + y mod p."""
    grid = size.transformer
    train = TrainSpec(steps=grid.steps, batch_size=size.batch_size, eval_every=grid.eval_every)
    members = members_from(seed=size.seed, train_fraction=size.train_fraction)
    base = RunSpec(
        DataSpec(op="add", p=size.p), size.model, TRANSFORMER_OPTIM, train=train, members=members
    )
    return cell_specs(base, grid)


ROW = ("steps_to_train_90", "steps_to_test_90", "phase", "run_id", "member", "rqi")


@dataclass(frozen=True)
class PhaseDiagram:
    name: str  # "toy" or "transformer"
    grid: Grid
    train_steps: np.ndarray  # [L, W] steps to 90 % train (nan: never)
    test_steps: np.ndarray  # [L, W]
    phases: np.ndarray  # [L, W] phase names
    run_ids: list[str]  # per cell, lr outer
    members: list[int]
    rqi: np.ndarray | None = None  # [L, W] RQI of the final learned representation (toy)

    def rows(self) -> list[dict]:
        """One CSV row per run."""
        rqi = self.rqi if self.rqi is not None else np.full(self.phases.shape, np.nan)
        cells = (self.train_steps, self.test_steps, self.phases)
        values = zip(
            *(c.ravel() for c in cells), self.run_ids, self.members, rqi.ravel(), strict=True
        )
        return [
            {"panel": self.name, "lr": lr, "weight_decay": wd, **dict(zip(ROW, v, strict=True))}
            for (lr, wd), v in zip(grid_cells(self.grid), values, strict=True)
        ]

    def numbers(self) -> dict:
        numbers = {
            **phase_counts(self.phases),
            "goldilocks_lrs": [self.grid.lrs[r] for r in goldilocks_lines(self.phases)],
            "goldilocks_weight_decays": [
                self.grid.weight_decays[c] for c in goldilocks_lines(self.phases.T)
            ],
        }
        if self.rqi is not None:
            numbers["rqi_median"] = {p: median_rqi(self.rqi, self.phases, p) for p in PHASES}
        return numbers


def median_rqi(rqi: np.ndarray, phases: np.ndarray, phase: str) -> float:
    """The median RQI of the runs in `phase`; nan where the grid has none (or none measured)."""
    values = rqi[(phases == phase) & np.isfinite(rqi)]
    return float(np.median(values)) if values.size else float("nan")


def diagram(
    name: str, grid: Grid, result, rows: list[dict], rqi: list[float] | None = None
) -> PhaseDiagram:
    """Classify every cell of one panel from its member's curves; `rqi`: each cell's final
    representation's RQI, lr outer (the toy)."""
    curves = [member_curves(result, row) for row in rows]
    steps = [phase_steps(c["step"], c["train_acc"], c["val_acc"], THRESHOLD) for c in curves]
    shape = (len(grid.lrs), len(grid.weight_decays))
    train_steps, test_steps = (np.reshape([s[i][0] for s in steps], shape) for i in (0, 1))
    phases = classify_phases(train_steps, test_steps)
    return PhaseDiagram(
        name,
        grid,
        train_steps,
        test_steps,
        phases,
        [r["run_id"] for r in rows],
        [int(r["member"]) for r in rows],
        None if rqi is None else np.reshape(np.asarray(rqi, dtype=float), shape),
    )


def final_rqi(rows: list[dict], store_root: Path) -> list[float]:
    """The RQI of each row's member's learned representation at the end of training, read
    from its run's last checkpoint; nan where the store holds no checkpoint of the run."""
    values = []
    with RunStore(store_root) as store:
        for row in rows:
            if not store.checkpoint_path(row["run_id"]).exists():
                values.append(float("nan"))
                continue
            model, task = load(row["run_id"], member=int(row["member"]), store=store)
            values.append(rqi_measure(model, task)["rqi"])
    return values


def goldilocks_text(d: PhaseDiagram) -> str:
    """Where the Goldilocks zone showed in one panel, or that it did not."""
    lrs, wds = d.numbers()["goldilocks_lrs"], d.numbers()["goldilocks_weight_decays"]
    parts = [f"along weight decay at lr {describe_values(lrs)}"] if lrs else []
    parts += [f"along lr at weight decay {describe_values(wds)}"] if wds else []
    if parts:
        return f"{d.name}: Goldilocks zone {' and '.join(parts)}"
    return f"{d.name}: no Goldilocks zone (no generalizing run between memorization and confusion)"


LETTER = {"comprehension": "C", "grokking": "G", "memorization": "M", "confusion": "X"}


def per_lr(d: PhaseDiagram, heading: str, values: np.ndarray, cell) -> str:
    """'<heading>: lr 0.001: a b; lr 0.01: c d': `cell` of each value, one part per lr."""
    lines = [
        f"lr {lr:g}: " + " ".join(map(cell, row))
        for lr, row in zip(d.grid.lrs, values, strict=True)
    ]
    return f"{heading}: " + "; ".join(lines)


def grid_text(d: PhaseDiagram) -> str:
    """The phases as letters, one line per lr: 'lr 0.001: C G M X' (X = confusion)."""
    wds = describe_values(d.grid.weight_decays)
    return per_lr(d, f"{d.name} (weight decay {wds} left to right)", d.phases, LETTER.get)


def rqi_text(d: PhaseDiagram) -> str:
    """The final representations' RQI, one line per lr: 'lr 0.001: 0.95 0.12 ...'."""
    wds = describe_values(d.grid.weight_decays)
    heading = f"{d.name} RQI of the final representation (weight decay {wds})"
    return per_lr(d, heading, d.rqi, "{:.2f}".format)


def rqi_medians_text(d: PhaseDiagram) -> str:
    """'C 0.95, G 0.9, M 0.2, X -': the median RQI of each phase's runs ('-': no run)."""
    if d.rqi is None:
        return "-"
    medians = d.numbers()["rqi_median"]
    shown = [(LETTER[p], "-" if np.isnan(medians[p]) else f"{medians[p]:.2f}") for p in PHASES]
    return ", ".join(f"{letter} {value}" for letter, value in shown)


AXES = {
    "toy": ("decoder weight decay", "decoder learning rate"),
    "transformer": ("weight decay", "learning rate"),
}


def plot_figure(diagrams: list[PhaseDiagram]) -> Figure:
    """Both phase diagrams side by side, weight decay on x and lr on y, log axes."""
    fig = build_figure(len(diagrams))
    for i, (ax, d) in enumerate(zip(fig.axes, diagrams, strict=True)):
        grid, last = d.grid, i == len(diagrams) - 1
        axes = {"x_values": np.array(grid.weight_decays), "y_values": np.array(grid.lrs)}
        xlabel, ylabel = AXES[d.name]
        plot_phase_diagram(ax, d.phases, **axes, xlabel=xlabel, ylabel=ylabel, legend=last)
        ax.set_title(d.name, fontsize=9)
    return fig


def outcome(size: PhasesSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    toy, transformer = toy_points(size), transformer_points(size)
    result = train_points([*toy, *transformer], ctx, max_members=64)
    toy_rows = result.rows[: len(toy)]
    diagrams = [
        diagram("toy", size.toy, result, toy_rows, final_rqi(toy_rows, ctx.store_root)),
        diagram("transformer", size.transformer, result, result.rows[len(toy) :]),
    ]
    title = (
        f"{TITLE}: phases by steps to {THRESHOLD:.0%} train / test; toy "
        f"{describe_toy(size.toy_model)}, transformer on x + y mod {size.p}"
    )
    header = ["panel", "runs", *PHASES, "Goldilocks zone", "median RQI by phase"]
    table_rows = [
        [
            d.name,
            d.phases.size,
            *(d.numbers()[p] for p in PHASES),
            goldilocks_text(d),
            rqi_medians_text(d),
        ]
        for d in diagrams
    ]
    notes = " ".join(
        [
            f"Toy: {describe_toy(size.toy_model)}, i + j over the pairs i <= j < {size.toy_p}, "
            f"{size.toy_n_train} train pairs; the representation trains at lr 1e-3 and weight "
            "decay 0, the decoder at the grid's (AdamW betas 0.9/0.999, full batch, no warm-up, "
            f"MSE against templates), {size.toy.steps:,} steps, evaluated every "
            f"{size.toy.eval_every}; RQI of each run's final representation. Transformer: "
            f"{describe_model(size.model)}, x + y mod {size.p}, "
            f"{size.train_fraction:.0%} training data, batch {size.batch_size}, AdamW betas "
            f"0.9/0.98, 10 warm-up steps, {size.transformer.steps:,} steps, evaluated every "
            f"{size.transformer.eval_every}. Seed {size.seed}. Phases: steps to "
            f"{THRESHOLD:.0%} accuracy within the budget; grokking when test lags train by "
            "more than 10^3 steps.",
            *(grid_text(d) + "." for d in diagrams),
            rqi_text(diagrams[0]) + ".",
        ]
    )
    rows = [row for d in diagrams for row in d.rows()]
    files = Files([Drawing("phases.png", plot_figure(diagrams), title)], {"phases.csv": rows})
    numbers = {d.name: d.numbers() for d in diagrams}
    return Outcome(numbers, markdown_table(header, table_rows), notes, files)


DESCRIPTION = "phase diagrams (comprehension, grokking, memorization, confusion) over lr x wd"


def goldilocks_lines_of(panel: str):
    return lambda n: float(sum(len(n[panel][f"goldilocks_{k}"]) for k in ("lrs", "weight_decays")))


LINES = "grid lines with a generalizing cell between a memorization and a confusion cell"
CLAIMS = (
    claim(
        "Generalization happens only in a Goldilocks zone between memorization and confusion "
        f"(Sec. 5, phase diagrams), toy model | yes | {LINES} | >= 1",
        goldilocks_lines_of("toy"),
        note="the paper's toy grid and budget were not at hand: another grid can miss the edges",
    ),
    claim(
        f"The same for the transformer (Sec. 6) | yes | {LINES} | >= 1",
        goldilocks_lines_of("transformer"),
    ),
    claim(
        "All four phases appear over learning rate x weight decay: comprehension, grokking, "
        "memorization, confusion (Sec. 6) | 4 | phases with at least one run, transformer | >= 4",
        lambda n: float(sum(n["transformer"][p] > 0 for p in PHASES)),
    ),
    claim(
        "Comprehension learns a structured representation: its E_i + E_n = E_j + E_m where "
        "i + n = j + m, RQI near 1 (Sec. 3 RQI, Sec. 5 the phases' representations), toy model "
        "| near 1 | median RQI of the final representation over the toy's comprehension runs "
        "(not measured where the grid has none) | >= 0.9",
        value_at("toy.rqi_median.comprehension"),
    ),
    claim(
        "Memorization does not: its representation stays unstructured (Sec. 5), toy model "
        "| low | median RQI of the final representation over the toy's memorization runs "
        "(not measured where the grid has none) | <= 0.5",
        value_at("toy.rqi_median.memorization"),
    ),
)
STUDY = declare(
    "liu2022-phases", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "phases.md", claims=CLAIMS
)
