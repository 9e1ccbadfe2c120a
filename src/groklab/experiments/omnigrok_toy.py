"""Omnigrok (Liu, Michaud, Tegmark 2023), Fig. 6 and 8: the toy addition landscape over
representation messiness and decoder weight norm.

The toy task (groklab.data.toy) is (i + j) mod 10 over the 55 pairs i <= j, 45 of them for
training, read from a fixed 2-D representation whose messiness m mixes a structured line with
random points; a decoder MLP 2-200-200-30 (LeakyReLU) maps E_i + E_j to the answer's random
template (MSE). Only the decoder trains, with its norm held at alpha * ||theta_0|| (Adam lr
1e-2, 15k steps). Generalization needs both a good representation (small m) and a decoder
norm in the "Goldilocks" zone: with m = 0 the best test accuracy is highest at a middle alpha
and lower at both ends (the U), while the training set is fitted for every alpha above a small
one (the L); a messier representation lowers the test accuracy at every norm.

Compute at the paper size: ~0.65 CPU core-hours (21 m x 20 alphas x 15,000 full-batch steps at
~0.37 ms per member-step in populations of 20, one core of the 2-vCPU AMD EPYC in
benchmarks/RESULTS.md §23).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from groklab.experiments import omnigrok_landscape
from groklab.experiments.base import ExperimentContext
from groklab.experiments.claims import claim, value_at
from groklab.experiments.common import Note, RunSize, describe_model
from groklab.experiments.kit import Outcome, declare, size_table, table_of
from groklab.experiments.omnigrok_common import CELL, panel_run
from groklab.experiments.omnigrok_landscape import LandscapeFigure
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec

TITLE = "Omnigrok (Liu et al. 2023), Fig. 6/8"
LANDSCAPE = LandscapeFigure("data.messiness", "messiness", "toy_landscape", "messiness m")
# The paper's code: Adam with betas (0.9, 0.99), no warm-up, full batch (45 examples), its lr
# multiplied by 0.2 every 5,000 steps (torch's StepLR), LeakyReLU(0.2) in the decoder.
OPTIM = OptimSpec(
    optimizer="adam", beta1=0.9, beta2=0.99, warmup_steps=0, schedule="step", step_factor=0.2
)
LEAKY_SLOPE = 0.2
TOY_MLP = replace(PRESETS["omnigrok_toy"], leaky_slope=LEAKY_SLOPE)
MICRO_MLP = replace(TOY_MLP, d_mlp=16)


@dataclass(frozen=True, kw_only=True)
class ToySize(RunSize):
    p: int
    n_train: int
    messiness: tuple[float, ...]
    alphas: tuple[float, ...]
    seed: int
    step_every: int  # the lr is multiplied by 0.2 every step_every updates


# The paper's coarse grid: messiness linspace(0, 0.2, 21) x decoder scale linspace(0, 9, 21)
# without the scale 0 (an all-zero decoder).
PAPER_MESSINESS = tuple(float(m) for m in np.linspace(0.0, 0.2, 21))
PAPER_ALPHAS = tuple(float(a) for a in np.linspace(0.0, 9.0, 21)[1:])
QUICK_ALPHAS = (0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0)
SIZES = size_table(
    ToySize,
    "p n_train model messiness alphas steps step_every eval_every",
    {
        "paper": (10, 45, TOY_MLP, PAPER_MESSINESS, PAPER_ALPHAS, 15_000, 5_000, 100),
        # The paper's schedule shrunk with the budget: two lr decays, at a third and two thirds.
        "quick": (10, 45, TOY_MLP, (0.0, 0.05, 0.1, 0.2), QUICK_ALPHAS, 6_000, 2_000, 100),
        "micro": (5, 10, MICRO_MLP, (0.0, 1.0), (0.5, 2.0), 20, 7, 10),
    },
    lr=1e-2,
    seed=0,
)


def describe_decoder(model: ModelSpec) -> str:
    """'decoder MLP 2-200-200-30, leaky_relu'."""
    return f"decoder {describe_model(model, (2, 30))}"


def describe_grid(values: tuple[float, ...]) -> str:
    """'4 values from 0 to 0.2'."""
    return f"{len(values)} values from {values[0]:g} to {values[-1]:g}"


NOTES: tuple[Note, ...] = (
    ("{} (paper {})", lambda s: f"p = {s.p}, {s.n_train} train pairs"),
    ("model {} (paper {})", lambda s: describe_decoder(s.model)),
    ("messiness {} (paper {})", lambda s: describe_grid(s.messiness)),
    ("decoder scale alpha {} (paper {})", lambda s: describe_grid(s.alphas)),
    ("budget {} steps (paper {})", lambda s: f"{s.steps:,}"),
    ("lr x0.2 every {} steps (paper {})", lambda s: f"{s.step_every:,}"),
)


def base_spec(size: ToySize) -> RunSpec:
    """One decoder on the structured representation; `run_landscape` sets messiness, alpha,
    the norm constraint and weight decay 0 per cell."""
    optim, data = replace(OPTIM, step_every=size.step_every), DataSpec(dataset="toy_add", p=size.p)
    return panel_run(size, CELL, data, optim=optim, train={"loss": "mse"}, n_train=size.n_train)


def row_numbers(land: omnigrok_landscape.Landscape, r: int) -> dict[str, float]:
    """One messiness row: where the best test accuracy and loss are, and the smallest alpha
    that fits the training set."""
    val_acc, val_loss = land.best["best_val_acc"][r], land.best["best_val_loss"][r]
    fitted = np.flatnonzero(land.best["best_train_acc"][r] >= 1.0)
    best_acc, best_loss = int(np.nanargmax(val_acc)), int(np.nanargmin(val_loss))
    return {
        "messiness": float(land.values[r]),
        "best_val_acc": float(val_acc[best_acc]),
        "alpha_best_val_acc": float(land.alphas[best_acc]),
        "val_acc_smallest_alpha": float(val_acc[0]),
        "val_acc_largest_alpha": float(val_acc[-1]),
        "best_val_loss": float(val_loss[best_loss]),
        "alpha_best_val_loss": float(land.alphas[best_loss]),
        "smallest_alpha_fitting_train": float(land.alphas[fitted[0]]) if fitted.size else np.nan,
    }


TABLE = {
    "messiness": "messiness m",
    "best_val_acc": "best test acc",
    "alpha_best_val_acc": "at alpha",
    "val_acc_smallest_alpha": "test acc, smallest alpha",
    "val_acc_largest_alpha": "test acc, largest alpha",
    "best_val_loss": "lowest test loss",
    "alpha_best_val_loss": "at alpha",
    "smallest_alpha_fitting_train": "smallest alpha with train 100 %",
}


def outcome(size: ToySize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    model = describe_decoder(size.model)
    title = (
        f"{TITLE}: toy (i + j) mod {size.p}, {size.n_train} train pairs, {model}, decoder norm "
        f"held at alpha * ||theta_0||, Adam lr {size.lr:g} x0.2 every {size.step_every:,} "
        f"steps, {size.steps:,} steps; L/U at messiness 0"
    )
    land, files = LANDSCAPE.run(base_spec(size), size, ctx, title, lu_row=0)
    rows = [row_numbers(land, r) for r in range(len(land.values))]
    notes = (
        f"{model} on E_i + E_j, E = (1 - m) * line + m * random "
        "(groklab.data.toy); only the decoder trains (Adam, betas 0.9/0.99, full batch, "
        f"weight decay 0, lr x0.2 every {size.step_every:,} steps), its norm projected back "
        f"to alpha * ||theta_0|| after every step; LeakyReLU slope {size.model.leaky_slope:g}; "
        f"seed {size.seed}. Best values over training."
    )
    return Outcome(
        {f"m={r['messiness']:g}": {k: r[k] for k in TABLE if k != "messiness"} for r in rows},
        table_of(rows, TABLE),
        notes,
        files,
    )


DESCRIPTION = "toy addition: best train/test accuracy over messiness x decoder norm (L and U)"


def goldilocks_margin(numbers: dict) -> float:
    """Best test accuracy over the alpha grid minus the better of its two ends, m = 0 (> 0:
    best at a middle norm)."""
    return omnigrok_landscape.goldilocks_margin(numbers["m=0"])


CLAIMS = (
    claim(
        "Test accuracy is best at a Goldilocks decoder norm, lower at both ends (Sec. 3, Fig. "
        "6/8: the U) "
        "| U | best test accuracy minus the better end's, m = 0 | > 0",
        goldilocks_margin,
    ),
    claim(
        "The training set is fitted at every norm above a small one (the L) "
        "| L | smallest alpha whose train accuracy reaches 100 %, m = 0 | <= 1",
        value_at("m=0.smallest_alpha_fitting_train"),
        note="measured at the paper's 15,000 steps too: 2 on the quick grid of alphas",
    ),
)
STUDY = declare(
    "omnigrok-toy", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "toy_landscape.md", claims=CLAIMS
)
