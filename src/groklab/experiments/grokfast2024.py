"""Grokfast (Lee, Kang, Kim, Lee 2024), Fig. 2-3: amplifying the slow gradient against an honest
baseline on x*y mod 97.

The paper trains the Power et al. 2-layer transformer on x*y mod 97 with 50 % of the table,
batch 512, Adam lr 1e-3, betas (0.9, 0.98), 10 warm-up steps, and reports the iterations to
95 % validation accuracy: 39,890 for the baseline (Adam, no weight decay), 790 with Grokfast-MA
(window 100, lamb 5, weight decay 0.01) and 910 with Grokfast-EMA (alpha 0.98, lamb 2, weight
decay 0.005). Their weight decay is torch Adam's, an L2 term added to the filtered gradient
(`adam_l2` here). A fourth recipe the paper does not run is the honest baseline: AdamW with
decoupled weight decay 1 and no filter. Each recipe is one population of seeds.

Differences from the paper's code, all small: its mul table leaves out y = 0 (97 trivial
pairs of 9,409) and its output layer scores all p + 2 tokens; groklab uses every pair and p
outputs. Its attention weights start from torch's xavier init with zero biases; groklab's
from U(-1/sqrt(d), 1/sqrt(d)).

Compute at the paper size: at most ~32 CPU core-hours (4 recipes x 3 seeds to the 3 x 10^5-step
budget at ~32 ms per member-step on one quiet core of the 2-vCPU AMD EPYC in
benchmarks/RESULTS.md §21); the filtered runs and AdamW stop at 99 % within a few thousand
steps; the no-wd baseline (39,890 steps to 95 % in the paper) is most of it, up to ~8
core-hours for its 3 seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis.curves import median_never_last, stack_members
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import claim, ratio, steps_at
from groklab.experiments.common import Recipe
from groklab.experiments.kit import Drawing, Files, Outcome, declare, header, size_table
from groklab.plots.style import MEDIAN_LINEWIDTH, MEMBER_ALPHA, build_figure
from groklab.spec import DataSpec, ModelSpec, RunSpec

TITLE = "Grokfast (Lee et al. 2024), Fig. 2-3"
THRESHOLDS = (0.95, 0.99)  # the paper reports 95 %; 99 % is groklab's usual bar

# The paper's model (ironjr/grokfast main.py): width 128, 4 heads, MLP 512 (the defaults),
# pre-LN blocks with a final LayerNorm, GELU, learned positions, biases everywhere but the
# unembedding, no dropout.
GROKFAST_MODEL = ModelSpec(
    act="gelu", norm="pre", positions="learned", attn_bias=True, mlp_bias=True
)


def grokfast(kind: str, label: str, weight_decay: float, **more) -> Recipe:
    """A Grokfast filter ("ma", "ema") before Adam with an L2 term, as the paper's code."""
    return Recipe(f"grokfast_{kind}", label, "adam_l2", weight_decay, (f"grokfast_{kind}",), **more)


WINDOW = {"grokfast_ma_window": 100}
MA, EMA = {"grokfast_ma_lamb": 5.0}, {"grokfast_ema_alpha": 0.98, "grokfast_ema_lamb": 2.0}
RECIPES = (
    Recipe("baseline", "Adam, wd 0 (paper's baseline)", "adam", 0.0),
    grokfast("ma", "Grokfast-MA w 100 lamb 5, Adam + L2 0.01", 0.01, optim=WINDOW, member=MA),
    grokfast("ema", "Grokfast-EMA alpha 0.98 lamb 2, Adam + L2 0.005", 0.005, member=EMA),
    Recipe("adamw", "AdamW, decoupled wd 1, no filter", "adamw", 1.0),
)


@dataclass(frozen=True, kw_only=True)
class GrokfastSize(common.BudgetsSize):
    p: int
    train_fraction: float
    batch_size: int
    seeds: tuple[int, ...]


def _budgets(baseline: int, others: int) -> dict[str, int]:
    return {r.name: baseline if r.name == "baseline" else others for r in RECIPES}


MICRO_MODEL = replace(GROKFAST_MODEL, d_model=8, n_layers=1, n_heads=2, d_mlp=32)
SIZES = size_table(
    GrokfastSize,
    "p model lr eval_every batch_size budgets",
    {
        # The paper's code budget is 3e5 updates; every population stops once all its members
        # hold 99 % validation accuracy, so only a run that never gets there uses all of it.
        "paper": (97, GROKFAST_MODEL, 1e-3, 50, 512, _budgets(300_000, 300_000)),
        # The paper's task and model, 4 populations of 3: the filtered runs and AdamW get
        # 3,000 steps (each stops at 99 %), the baseline 5,000, which the paper needs ~40k
        # steps to pass (its claim counts "never" as 5,000). Measured (RESULTS.md §14, quiet
        # 2-core AMD EPYC, 15 min 26 s, 1,816 CPU-s): 95 % at a median of EMA 950, AdamW wd 1
        # 1,200, MA 2,250 (2 of 3 seeds); the baseline never within 5,000. The earlier quick
        # size (p = 47, width 32, 1,500 steps) showed none of the claims.
        "quick": (97, GROKFAST_MODEL, 1e-3, 50, 512, _budgets(5_000, 3_000)),
        "micro": (7, MICRO_MODEL, 1e-2, 5, 8, _budgets(10, 20)),
    },
    train_fraction=0.5,
    seeds=(0, 1, 2),
)
BATCH: common.Note = ("batch {} (paper {})", lambda size: size.batch_size)
NOTES = (common.P, common.MODEL, common.LR, common.BUDGETS, BATCH, common.SEEDS)


def recipe_spec(size: GrokfastSize, recipe: Recipe, seed: int) -> RunSpec:
    """One member of one recipe: the paper's task, model, Adam betas and warm-up; a population
    stops once all its members generalized."""
    optim = {"beta1": 0.9, "beta2": 0.98, "warmup_steps": 10}
    train = {"batch_size": size.batch_size, "stop_at_val_acc": THRESHOLDS[-1]}
    return common.recipe_run(size, recipe, DataSpec(op="mul", p=size.p), seed, optim, train)


NUMBERS = {  # each member's numbers, read off its curves
    **{f"steps_to_{round(t * 100)}": f"first val_acc {t}" for t in THRESHOLDS},
    "final_val_acc": "final val_acc",
    "best_val_acc": "best val_acc",
    "final_train_acc": "final train_acc",
    "steps_done": "final step",
}


def member_numbers(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Steps to each threshold (nan: never), the final and best validation accuracy."""
    return common.curve_numbers(curves, NUMBERS)


def run_recipes(size: GrokfastSize, ctx: ExperimentContext):
    """One row per (recipe, seed) and each member's curves, recipes in RECIPES order."""
    keys = [(r, s) for r in RECIPES for s in size.seeds]
    specs = [recipe_spec(size, r, s) for r, s in keys]
    result = common.train_points(specs, ctx, max_members=len(size.seeds))
    rows, curves = [], []
    for (recipe, seed), row in zip(keys, result.rows, strict=True):
        curves.append(common.member_curves(result, row, evaluated_only=True))
        settings, budget = {"optimizer": recipe.optimizer}, size.budgets[recipe.name]
        own = common.recipe_row("recipe", recipe, seed, settings, budget, row)
        rows.append({**own, **member_numbers(curves[-1])})
    return rows, curves


def medians(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per recipe: the median steps to each threshold over its members (inf: the median
    member never got there) and how many members got there."""
    out = {}
    for recipe in RECIPES:
        mine = [r for r in rows if r["recipe"] == recipe.name]
        out[recipe.name] = entry = {}
        for t in (round(t * 100) for t in THRESHOLDS):
            values = np.array([[r[f"steps_to_{t}"] for r in mine]], float)  # [1, S]
            entry[f"median_steps_to_{t}"] = float(median_never_last(values)[0])
            entry[f"reached_{t}"] = int(np.isfinite(values).sum())
        entry["members"] = len(mine)
    return out


def steps_cell(value: float, budget: int, never: str = "never within {:,}") -> str:
    """'1,150', or 'never within 2,000' for a median member that did not get there."""
    return f"{value:,.0f}" if np.isfinite(value) else never.format(budget)


TABLE = header(
    "recipe | steps to 95 % val (median) | steps to 99 % val (median) | members at 95 % | "
    "members at 99 % | steps to 95 % per member"
)


def recipes_table(rows: list[dict], summary: dict, budgets: dict[str, int]) -> str:
    lines = []
    for recipe in RECIPES:
        s, budget = summary[recipe.name], budgets[recipe.name]
        mine = [r for r in rows if r["recipe"] == recipe.name]
        lines.append(
            (
                recipe.label,
                steps_cell(s["median_steps_to_95"], budget),
                steps_cell(s["median_steps_to_99"], budget),
                f"{s['reached_95']}/{s['members']}",
                f"{s['reached_99']}/{s['members']}",
                ", ".join(steps_cell(r["steps_to_95"], budget, "never") for r in mine),
            )
        )
    return markdown_table(TABLE, lines)


COLORS = {"baseline": "#7f7f7f", "grokfast_ma": "#1f77b4", "grokfast_ema": "#2ca02c"}
COLORS["adamw"] = "#d62728"
LABELS = {r.name: r.label for r in RECIPES}


def plot_figure(rows, curves, summary, *, budgets: dict) -> Figure:
    """Validation (left) and training (right) accuracy against step on a log axis: a thin line
    per member, the recipe's color; the label gives the median steps to 95 %."""
    fig = build_figure(2, figsize=(13.0, 5.0))
    for ax, metric in zip(fig.axes, ("val_acc", "train_acc"), strict=True):
        labelled = set()
        for row, member in zip(rows, curves, strict=True):
            name, label = row["recipe"], None
            if name not in labelled:
                to95 = steps_cell(summary[name]["median_steps_to_95"], budgets[name])
                label = f"{LABELS[name]} (95 % at {to95})"
                labelled.add(name)
            steps = np.maximum(member["step"], 1)  # step 0 on a log axis
            style = {"linewidth": MEDIAN_LINEWIDTH / 2, "alpha": max(MEMBER_ALPHA, 0.7)}
            ax.plot(steps, member[metric][0], color=COLORS[name], label=label, **style)
        for t in THRESHOLDS:
            ax.axhline(t, color="black", linewidth=0.6, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel("optimization step")
        ax.set_ylabel({"val_acc": "validation accuracy", "train_acc": "training accuracy"}[metric])
        ax.set_ylim(-0.02, 1.02)
    fig.axes[0].legend(loc="upper left", fontsize=7)
    return fig


def outcome(size: GrokfastSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    rows, curves = run_recipes(size, ctx)
    summary = medians(rows)
    setting = (
        f"{common.describe_op('mul', size.p)}, {size.train_fraction:.0%} training data, batch "
        f"{size.batch_size}, {common.describe_model(size.model)}, lr {size.lr:g}, betas (0.9, 0.98)"
    )
    fig = plot_figure(rows, curves, summary, budgets=size.budgets)
    tables = {"grokfast.csv": rows}
    for recipe in RECIPES:  # every member's curves, one file per recipe
        mine = [c for r, c in zip(rows, curves, strict=True) if r["recipe"] == recipe.name]
        tables[f"grokfast_curves_{recipe.name}.csv"] = stack_members(mine)
    notes = (
        f"{setting}; pre-LN GELU transformer with learned positions and biases, 10 warm-up "
        f"steps, seeds {', '.join(map(str, size.seeds))}, budgets "
        f"{common.describe_budgets(size)} steps, evaluated every {size.eval_every} steps; a "
        "population stops once all its members hold 99 % validation accuracy. Steps are the "
        "first evaluated step at or above the threshold; a median of 'never' means most "
        "members did not get there. The paper (p = 97, 95 %): baseline 39,890, Grokfast-MA "
        "790, Grokfast-EMA 910 iterations."
    )
    files = Files([Drawing("grokfast.png", fig, f"{TITLE}: {setting}")], tables)
    numbers = {**summary, "budgets": dict(size.budgets)}
    return Outcome(numbers, recipes_table(rows, summary, size.budgets), notes, files)


DESCRIPTION = (
    f"x*y mod {SIZES['paper'].p}: Grokfast-MA and -EMA against Adam and AdamW wd 1, steps to 95 "
    "and 99 % per seed"
)


def _median_95(recipe: str, budget_for_never: bool = False):
    return steps_at(
        f"{recipe}.median_steps_to_95", never_as=f"budgets.{recipe}" if budget_for_never else None
    )


CLAIMS = (
    claim(
        "Grokfast-EMA reaches 95 % validation accuracy far sooner than the baseline, Adam without "
        "weight decay (Fig. 2-3: 910 vs 39,890 iterations) "
        "| 910 / 39,890 = 0.023 | median steps to 95 %, EMA / baseline (a baseline that never "
        "reaches 95 % counts as its budget; 3 seeds) | <= 0.2",
        ratio(_median_95("grokfast_ema"), _median_95("baseline", True)),
    ),
    claim(
        "Grokfast-MA reaches 95 % validation accuracy far sooner than the baseline (Fig. 2: 790 "
        "vs 39,890 iterations) "
        "| 790 / 39,890 = 0.020 | median steps to 95 %, MA / baseline (never = its budget; 3 "
        "seeds) | <= 0.2",
        ratio(_median_95("grokfast_ma"), _median_95("baseline", True)),
    ),
    claim(
        "Matched baseline (not in the paper): AdamW with decoupled weight decay 1 and no filter "
        "is within 1.5x of Grokfast-EMA "
        "| not run by the paper | median steps to 95 %, AdamW wd 1 / EMA (3 seeds) | <= 1.5",
        ratio(_median_95("adamw"), _median_95("grokfast_ema")),
    ),
)
STUDY = declare(
    "grokfast2024", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "grokfast.md", claims=CLAIMS
)
