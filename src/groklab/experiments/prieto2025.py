"""Prieto, Barsbey, Mediano, Birdal 2025, "Grokking at the edge of numerical stability", Fig. 1-2:
softmax collapse, and two ways around it without weight decay.

Their MLP (one-hot [x; y] -> 200 -> 200 -> p, ReLU, no biases) on x+y mod 113 with 40 % of
the table, full batch, AdamW betas (0.9, 0.99), no warm-up. Four runs:
- ⊥AdamW (`orthograd`: each weight tensor's gradient with its component along the weights
  removed, rescaled to the original norm), lr 1e-2, wd 0: generalizes with almost no delay;
- AdamW, wd 0, float32 cross-entropy: the training loss runs to exactly 0 as the correct logit
  outgrows the others ("softmax collapse"), the gradient vanishes and validation accuracy
  stays near chance. The paper shows this in Fig. 2 (float32, lr 5e-4, 20,000 steps; at 40 %
  of the table the accuracy stays at chance, at 60-70 % it climbs until the collapse); its
  Fig. 1 baseline without weight decay is a float64 cross-entropy run. groklab's run is float32
  at Fig. 1's lr 1e-2, where the collapse comes within ~2,000 steps;
- StableMax cross-entropy (`stablemax`, in float64), wd 0: no collapse; the paper's code runs it
  with lr 1e-2, beta2 0.999 for 80,000 full-batch steps (Fig. 1), its validation accuracy
  passing 0.9 only near step 45,000-50,000 (the notebook's stored curve: ~0.3 at 30k, ~0.73
  at 40k, ~0.94 at 50k), so no quick budget shows it at 40 %; groklab's paper-size run (seed 0)
  passes 0.9 at step 63,350 and ends at 0.97 (benchmarks/RESULTS.md §29);
- AdamW lr 1e-2 with weight decay 8: weight decay keeps the logits small, so it groks.

The softmax-collapse fraction (the share of training examples whose float32 softmax is exactly
1 at the answer, the measure `softmax_collapse`) is measured on kept checkpoints and written to
the store, so `groklab curves RUN --measures softmax_collapse` shows it. For the StableMax run
it reads the float32 *softmax* of the logits, which that run's loss never uses: a value near 1
there says its logits grew past where softmax would round to 1, not that its own gradient
vanished.

Where the paper's code differs: its Adam epsilon is 1e-25 (groklab keeps that for the AdamW and
StableMax runs; its ⊥AdamW run passed only lr and weight decay, so torch's defaults applied
there: eps 1e-8, which groklab uses, and beta2 0.999, where groklab follows the issue's 0.99).

Compute at the paper size: at most ~4 CPU core-hours (3 seeds x 162,300 steps over the four runs
at ~27 ms per member-step on one core of the 2-vCPU AMD EPYC in benchmarks/RESULTS.md §17, the
one-hot MLP at full batch; the float64 StableMax loss costs more per step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from groklab.errors import GroklabError
from groklab.experiments import common, kit
from groklab.experiments.base import ExperimentContext
from groklab.experiments.claims import GROKKING_DELAY, claim, delay, value_at
from groklab.experiments.common import Recipe
from groklab.measures import MEASURES
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec
from groklab.store import RunStore

TITLE = "Prieto et al. 2025, Fig. 1-2"
THRESHOLD = 0.99
COLLAPSE = "softmax_collapse"  # the measure's name in groklab.measures and in the store
KEEP = 24  # kept checkpoints per run, spread on a log axis (plus step 0 and the last)
# ...or evenly, for the run whose collapse is claimed: it rises late and falls back at once
# when the loss spikes, so a log axis's few late checkpoints can miss it (a kept step is
# about budget / KEEP_EVERY after the last, rounded to evaluations)
KEEP_EVERY = 50
PAPER_EPS = 1e-25  # the Adam epsilon of the paper's code
MICRO_MLP = ModelSpec(arch="mlp", n_layers=2, d_mlp=16, inputs="onehot")
PRIETO = PRESETS["prieto2025"]


PAPER_OPTIM, EPS_B999 = {"eps": PAPER_EPS}, {"eps": PAPER_EPS, "beta2": 0.999}
RECIPES = (  # every run has the size's lr (1e-2 in the paper)
    Recipe("orthograd", "⊥AdamW, wd 0", "adamw", 0.0, ("orthograd",)),
    Recipe("collapse", "AdamW, wd 0, float32 softmax", "adamw", 0.0, optim=PAPER_OPTIM),
    Recipe(
        "stablemax", "StableMax, AdamW wd 0, beta2 0.999", "adamw", 0.0, (), "stablemax", EPS_B999
    ),
    Recipe("wd8", "AdamW, wd 8", "adamw", 8.0, optim=PAPER_OPTIM),
)
EVERY = ("collapse",)  # the runs that keep a checkpoint every budget / KEEP_EVERY steps


@dataclass(frozen=True, kw_only=True)
class PrietoSize(common.BudgetsSize):
    p: int
    train_fraction: float
    seeds: tuple[int, ...]


def _budgets(*steps: int) -> dict[str, int]:
    """Each run's budget, in RECIPES order."""
    return dict(zip([r.name for r in RECIPES], steps, strict=True))


SIZES = kit.size_table(
    PrietoSize,
    "p model lr seeds eval_every budgets",
    {
        # Budgets of the paper's code (Fig. 1: ⊥AdamW 300 steps, StableMax and float32 softmax
        # 80,000); weight decay 8 is groklab's (the measurement: 99 % near step 225).
        "paper": (113, PRIETO, 1e-2, (0, 1, 2), 10, _budgets(300, 80_000, 80_000, 2_000)),
        # The paper's task, model and settings, one seed; the collapse run and StableMax get
        # 5,000 of their 80,000 steps (about 27 ms each on one thread). Measured 2026-12-07
        # (seed 0, one thread): the float32 run's collapse fraction reaches 0.51-0.52 at steps
        # 1,900-1,940, falls to 0.15 when the loss spikes near step 2,040 (with eps 1e-25 Adam
        # rescales the vanishing gradient of the few examples not yet collapsed into full-size
        # steps; training accuracy drops to 0.71 and recovers), and is 0.52-0.75 again at
        # steps 4,200-4,600 (0.75 at 4,400; a kept checkpoint every 100 steps sees both); its
        # validation accuracy stays below 0.003 after step 0. StableMax never collapses but at
        # 40 % generalizes later than this size affords: validation accuracy 0.0014 at step
        # 5,000 and 0.0043 at 12,000, creeping up, so its claim fails here. With 70 % of the
        # table StableMax reaches 0.91 by step 1,500, but there the float32 softmax run
        # generalizes too (0.19 at step 1,500 and rising): the paper's contrast is gone.
        "quick": (113, PRIETO, 1e-2, (0,), 10, _budgets(300, 5_000, 5_000, 600)),
        # lr 0.1: collapses within 60 steps
        "micro": (11, MICRO_MLP, 0.1, (0,), 5, _budgets(20, 60, 20, 20)),
    },
    train_fraction=0.4,
)


NOTES: tuple[common.Note, ...] = (common.P, common.MODEL, common.LR, common.BUDGETS, common.SEEDS)


def recipe_spec(size: PrietoSize, recipe: Recipe, seed: int) -> RunSpec:
    """One member of one run: full batch, no warm-up, AdamW betas (0.9, 0.99) unless the run
    says otherwise, stopping once every member holds 99 % validation accuracy."""
    optim = {"beta1": 0.9, "beta2": 0.99, "warmup_steps": 0}
    data, train = DataSpec(op="add", p=size.p), {"stop_at_val_acc": THRESHOLD}
    return common.recipe_run(size, recipe, data, seed, optim, train)


def measure_collapse(store: RunStore, run_id: str, n_members: int) -> dict[str, np.ndarray]:
    """The softmax-collapse fraction of every member at each kept checkpoint of `run_id`:
    {"step": [K], COLLAPSE: [M, K]}. Steps measured before are read back, the others measured
    on the loaded members and written to the store first. Empty when the run kept none."""
    import groklab  # the loader sits above the experiments' kit

    kept = store.kept_checkpoints(run_id)
    if not kept:
        return {"step": np.zeros(0, np.int64), COLLAPSE: np.zeros((n_members, 0))}
    done: set[int] = set()
    if COLLAPSE in store.measure_names(run_id):
        stored = store.read_measures(run_id, [COLLAPSE])
        pairs = zip(stored["step"], stored[COLLAPSE].T, strict=True)  # [M] per step
        done = {int(step) for step, values in pairs if np.isfinite(values).all()}
    measure = MEASURES[COLLAPSE].fn
    for step in sorted(set(kept) - done):
        values = [
            measure(*groklab.load(run_id, member=m, step=step, store=store))[COLLAPSE]
            for m in range(n_members)
        ]
        store.write_metrics(run_id, step, {COLLAPSE: np.array(values)})
    stored = store.read_measures(run_id, [COLLAPSE])
    at = np.isin(stored["step"], list(kept))
    return {"step": stored["step"][at], COLLAPSE: stored[COLLAPSE][:, at]}


def keep_rule(size: PrietoSize, recipe: Recipe) -> str:
    """The checkpoints a run keeps for the collapse measure: 'log:24', or 'every:N' with N
    about the budget / KEEP_EVERY in whole evaluations ('every:100' for 5,000 steps)."""
    if recipe.name not in EVERY:
        return f"log:{KEEP}"
    evaluations = max(1, round(size.budgets[recipe.name] / KEEP_EVERY / size.eval_every))
    return f"every:{evaluations * size.eval_every}"


def describe_keep(size: PrietoSize) -> str:
    """'collapse every 100 steps, the others about 24 on a log axis'."""
    rules = {r.name: keep_rule(size, r).split(":") for r in RECIPES}
    every = [f"{name} every {n} steps" for name, (rule, n) in rules.items() if rule == "every"]
    return ", ".join([*every, f"the others about {KEEP} on a log axis"])


def run_recipes(size: PrietoSize, ctx: ExperimentContext):
    """One row per (run, seed), each member's curves, and each run's collapse by member; the
    runs train one after another, each keeping checkpoints by its own rule."""
    rows, curves, collapses = [], [], []
    for recipe in RECIPES:
        specs = [recipe_spec(size, recipe, seed) for seed in size.seeds]
        kept = common.keeping_checkpoints(ctx, keep_rule(size, recipe))
        result = common.train_points(specs, kept, max_members=len(size.seeds))
        collapse: dict[str, dict[str, np.ndarray]] = {}
        with RunStore(ctx.store_root) as store:
            for population in result.results:
                n_members = population.curves["val_acc"].shape[0]
                collapse[population.run_id] = measure_collapse(store, population.run_id, n_members)
        for seed, row in zip(size.seeds, result.rows, strict=True):
            member = common.member_curves(result, row, evaluated_only=True)
            measured = collapse[row["run_id"]]
            mine = {"step": measured["step"], COLLAPSE: measured[COLLAPSE][row["member"]]}
            curves.append(member)
            collapses.append(mine)
            settings, budget = {"loss": recipe.loss, "lr": size.lr}, size.budgets[recipe.name]
            own = common.recipe_row("run", recipe, seed, settings, budget, row)
            rows.append({**own, **run_numbers(member, mine)})
    return rows, curves, collapses


NUMBERS = {f"steps_to_{k}": f"first {k}_acc {THRESHOLD}" for k in ("train", "val")}
NUMBERS |= {f"final_{k}": f"final {k}" for k in ("train_acc", "val_acc", "train_loss")}


def run_numbers(curves: dict[str, np.ndarray], collapse: dict[str, np.ndarray]) -> dict:
    """Steps to 99 % train and validation accuracy, the final accuracies, and the collapse
    fraction at the last kept checkpoint and at its highest (nan where none was measured)."""
    fraction, nan = collapse[COLLAPSE], float("nan")
    return {
        **common.curve_numbers(curves, NUMBERS),
        "collapse_end": float(fraction[-1]) if fraction.size else nan,
        "collapse_max": float(np.nanmax(fraction)) if fraction.size else nan,
        "steps_done": float(curves["step"][-1]),
    }


TABLE = {
    "run": "run",
    "steps_to_train": "steps to 99 % train",
    "steps_to_val": "steps to 99 % val",
    "final_val_acc": "final val acc",
    "final_train_loss": "final train loss",
    "collapse_end": "softmax collapse at end",
    "collapse_max": "highest softmax collapse",
    "steps_done": "steps run",
}


def table_cell(row: dict, key: str) -> object:
    """A row's value for the table: a collapse fraction that was not measured (the run kept no
    checkpoints) says so, where the table would write nan as 'never'."""
    if key.startswith("collapse") and np.isnan(row[key]):
        return "not measured"
    return row[key]


COLORS = {"orthograd": "#1f77b4", "collapse": "#d62728", "stablemax": "#2ca02c", "wd8": "#9467bd"}


def plot_figure(rows, curves, collapses) -> Figure:
    """Validation accuracy (solid; training dashed) and the softmax-collapse fraction at the
    kept checkpoints, against step on a log axis, one color per run."""
    fig = build_figure(2, figsize=(13.0, 5.0))
    acc_ax, collapse_ax = fig.axes
    labels = {r.name: r.label for r in RECIPES}
    for row, member, measured in zip(rows, curves, collapses, strict=True):
        color, first = COLORS[row["run"]], row["seed"] == rows[0]["seed"]
        label = labels[row["run"]] if first else None
        steps = np.maximum(member["step"], 1)  # step 0 on a log axis
        acc_ax.plot(steps, member["val_acc"][0], color=color, linewidth=1.4, label=label)
        acc_ax.plot(steps, member["train_acc"][0], color=color, linewidth=0.8, linestyle="--")
        if measured["step"].size:
            kept = np.maximum(measured["step"], 1), measured[COLLAPSE]
            style = {"marker": "o", "markersize": 3, "linewidth": 1.2}
            collapse_ax.plot(*kept, color=color, label=label, **style)
    acc_ax.set_ylabel("accuracy (validation solid, training dashed)")
    collapse_ax.set_ylabel("softmax collapse: share of training examples with p = 1")
    for ax in fig.axes:
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="center left", fontsize=8)
    return fig


def outcome(size: PrietoSize, ctx: ExperimentContext, shrunk: str) -> kit.Outcome:
    rows, curves, collapses = run_recipes(size, ctx)
    setting = (
        f"{common.describe_op('add', size.p)}, {size.train_fraction:.0%} training data, full "
        f"batch, {common.describe_model(size.model)}, no biases, lr {size.lr:g}"
    )
    figure = kit.Drawing("prieto.png", plot_figure(rows, curves, collapses), f"{TITLE}: {setting}")
    tables = {"prieto.csv": rows}
    for row, member, measured in zip(rows, curves, collapses, strict=True):
        name = f"prieto_curves_{row['run']}_seed{row['seed']}.csv"
        tables[name] = kit.Curves(with_collapse(member, measured), (COLLAPSE,))
    unmeasured = sorted({r["run"] for r in rows if np.isnan(r["collapse_end"])})
    notes = (
        f"{setting}; AdamW betas (0.9, 0.99) (StableMax: 0.999, as the paper's code), no "
        f"warm-up, seeds {', '.join(map(str, size.seeds))}, budgets "
        f"{common.describe_budgets(size)} steps, evaluated every {size.eval_every} steps; a run "
        "stops once all its members hold 99 % validation accuracy. Softmax collapse is measured "
        "on kept checkpoints: "
        f"{describe_keep(size)}; for StableMax it is the float32 softmax of its logits, which "
        "its loss does not use."
    )
    if unmeasured:
        notes += (
            f" Not measured for {', '.join(unmeasured)}: the run kept no checkpoints "
            "(trained before, or by a backend that keeps none)."
        )
    numbers = kit.by_run([r for r in rows if r["seed"] == 0], TABLE)
    table = kit.table_of(rows, TABLE, table_cell)
    return kit.Outcome(numbers, table, notes, kit.Files([figure], tables))


def with_collapse(member: dict[str, np.ndarray], measured: dict[str, np.ndarray]) -> dict:
    """A member's curves with the collapse fraction as one more [1, S] column (nan at the
    evaluations with no kept checkpoint); kept steps are always evaluation steps."""
    column = np.full((1, member["step"].size), np.nan)
    index = {int(s): i for i, s in enumerate(member["step"])}
    for step, value in zip(measured["step"], measured[COLLAPSE], strict=True):
        if int(step) not in index:
            raise GroklabError(f"kept step {int(step)} is not an evaluation step of the run")
        column[0, index[int(step)]] = value
    return {**member, COLLAPSE: column}


DESCRIPTION = (
    "x+y mod 113, MLP: ⊥AdamW, StableMax and wd 8 against float32 softmax collapse, with the "
    "collapse fraction"
)
CLAIMS = (
    claim(
        "Without weight decay, float32 cross-entropy drives training samples into softmax "
        "collapse: their softmax at the answer rounds to exactly 1 (Sec. 3, Fig. 2) "
        "| most samples | largest collapse fraction, AdamW wd 0, float32 | >= 0.5",
        value_at("collapse.collapse_max"),
    ),
    claim(
        "...and its validation accuracy stays near chance (Fig. 2, 40 % of the table) "
        "| chance | final validation accuracy, AdamW wd 0 (2/p = 0.0177 at p = 113) | <= 0.0177",
        value_at("collapse.final_val_acc"),
    ),
    claim(
        "⊥AdamW generalizes without weight decay, with almost no delay (Sec. 5, Fig. 1) "
        f"| no delay | steps from 99 % train to 99 % validation, ⊥AdamW | < {GROKKING_DELAY}",
        delay("orthograd"),
    ),
    claim(
        "StableMax, which cannot collapse, generalizes without weight decay (Sec. 4, Fig. 1) "
        "| ~100 % test | final validation accuracy, StableMax wd 0 | >= 0.9",
        value_at("stablemax.final_val_acc"),
        note="the paper's StableMax curve passes 0.9 only near step 45,000-50,000 of its 80,000; "
        "at 40 % groklab's is at 0.004 after 12,000; at the paper size (seed 0) it passes 0.9 at "
        "step 63,350 and ends at 0.97",
    ),
    claim(
        "Weight decay keeps the logits small enough to avoid collapse, so the model groks (the "
        "paper's account of why weight decay helps) "
        "| groks | final validation accuracy, AdamW wd 8 | >= 0.9",
        value_at("wd8.final_val_acc"),
    ),
)
STUDY = kit.declare(
    "prieto2025", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "prieto.md", claims=CLAIMS
)
