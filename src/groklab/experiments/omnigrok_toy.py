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

Numbers per messiness: the best test accuracy over alphas and where, the lowest best test loss
and where, and the smallest alpha that fits the training set (best train accuracy 100 %).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
    register,
    write_markdown,
)
from groklab.experiments.claims import Claim, value_at
from groklab.experiments.common import Note, RunSize, shrunk_text
from groklab.experiments.omnigrok_common import (
    Landscape,
    describe_mlp,
    run_landscape,
    write_landscape,
)
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from

TITLE = "Omnigrok (Liu et al. 2023), Fig. 6/8"
# The paper's code: Adam with betas (0.9, 0.99), no warm-up, full batch (45 examples), its lr
# multiplied by 0.2 every 5,000 steps (torch's StepLR), LeakyReLU(0.2) in the decoder.
OPTIM = OptimSpec(optimizer="adam", beta1=0.9, beta2=0.99, warmup_steps=0, schedule="step",
                  step_factor=0.2)  # fmt: skip
LEAKY_SLOPE = 0.2
TOY_MLP = replace(PRESETS["omnigrok_toy"], leaky_slope=LEAKY_SLOPE)
MICRO_MLP = ModelSpec(arch="mlp", n_layers=2, d_mlp=16, act="leaky_relu", mlp_bias=True,
                      leaky_slope=LEAKY_SLOPE)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ToySize(RunSize):
    p: int
    n_train: int
    messiness: tuple[float, ...]
    alphas: tuple[float, ...]
    seed: int
    step_every: int  # the lr is multiplied by 0.2 every step_every updates


SIZES = {
    # The paper's coarse grid: messiness linspace(0, 0.2, 21) x decoder scale linspace(0, 9, 21)
    # without the scale 0 (an all-zero decoder).
    "paper": ToySize(p=10, n_train=45, model=TOY_MLP, lr=1e-2,
                     messiness=tuple(float(m) for m in np.linspace(0.0, 0.2, 21)),
                     alphas=tuple(float(a) for a in np.linspace(0.0, 9.0, 21)[1:]),
                     steps=15_000, eval_every=100, seed=0, step_every=5_000),
    # The paper's schedule shrunk with the budget: two lr decays, at a third and two thirds.
    "quick": ToySize(p=10, n_train=45, model=TOY_MLP, lr=1e-2,
                     messiness=(0.0, 0.05, 0.1, 0.2), alphas=(0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0),
                     steps=6_000, eval_every=100, seed=0, step_every=2_000),
    "micro": ToySize(p=5, n_train=10, model=MICRO_MLP, lr=1e-2,
                     messiness=(0.0, 1.0), alphas=(0.5, 2.0), steps=20, eval_every=10,
                     seed=0, step_every=7),
}  # fmt: skip


def describe_model(model: ModelSpec) -> str:
    """'decoder MLP 2-200-200-30, leaky_relu'."""
    return f"decoder {describe_mlp(model, 2, 30)}"


def describe_grid(values: tuple[float, ...]) -> str:
    """'4 values from 0 to 0.2'."""
    return f"{len(values)} values from {values[0]:g} to {values[-1]:g}"


NOTES: tuple[Note, ...] = (
    ("{} (paper {})", lambda s: f"p = {s.p}, {s.n_train} train pairs"),
    ("model {} (paper {})", lambda s: describe_model(s.model)),
    ("messiness {} (paper {})", lambda s: describe_grid(s.messiness)),
    ("decoder scale alpha {} (paper {})", lambda s: describe_grid(s.alphas)),
    ("budget {} steps (paper {})", lambda s: f"{s.steps:,}"),
    ("lr x0.2 every {} steps (paper {})", lambda s: f"{s.step_every:,}"),
)


def base_spec(size: ToySize) -> RunSpec:
    """One decoder on the structured representation; `run_landscape` sets messiness, alpha,
    the norm constraint and weight decay 0 per cell."""
    return RunSpec(
        data=DataSpec(dataset="toy_add", p=size.p),
        model=size.model,
        optim=replace(OPTIM, step_every=size.step_every),
        train=TrainSpec(
            steps=size.steps, batch_size="full", eval_every=size.eval_every, loss="mse"
        ),
        members=members_from(seed=size.seed, n_train=size.n_train, lr=size.lr, weight_decay=0.0),
    )


def row_numbers(land: Landscape, r: int) -> dict[str, float]:
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


TABLE = {"messiness": "messiness m", "best_val_acc": "best test acc",
         "alpha_best_val_acc": "at alpha", "val_acc_smallest_alpha": "test acc, smallest alpha",
         "val_acc_largest_alpha": "test acc, largest alpha",
         "best_val_loss": "lowest test loss", "alpha_best_val_loss": "at alpha",
         "smallest_alpha_fitting_train": "smallest alpha with train 100 %"}  # fmt: skip


def run(ctx: ExperimentContext) -> ExperimentResult:
    size = SIZES[ctx.size]
    shrunk = shrunk_text(size, SIZES["paper"], NOTES)
    land = run_landscape(base_spec(size), alphas=size.alphas, axis="data.messiness",
                         values=size.messiness, ctx=ctx)  # fmt: skip
    title = (
        f"{TITLE}: toy (i + j) mod {size.p}, {size.n_train} train pairs, "
        f"{describe_model(size.model)}, decoder norm held at alpha * ||theta_0||, "
        f"Adam lr {size.lr:g} x0.2 every {size.step_every:,} steps, {size.steps:,} steps; "
        "L/U at messiness 0"
    )
    paths = write_landscape(land, ctx, stem="toy_landscape", title=title, shrunk=shrunk,
                            axis_label="messiness m", lu_row=0)  # fmt: skip
    rows = [row_numbers(land, r) for r in range(len(land.values))]
    table = markdown_table(list(TABLE.values()), [[r[k] for k in TABLE] for r in rows])
    notes = (
        f"{describe_model(size.model)} on E_i + E_j, E = (1 - m) * line + m * random "
        "(groklab.data.toy); only the decoder trains (Adam, betas 0.9/0.99, full batch, "
        f"weight decay 0, lr x0.2 every {size.step_every:,} steps), its norm projected back "
        f"to alpha * ||theta_0|| after every step; LeakyReLU slope {size.model.leaky_slope:g}; "
        f"seed {size.seed}. Best values over training."
    )
    md = write_markdown(ctx.out_dir / "toy_landscape.md", title=TITLE, table=table,
                        shrunk=shrunk, notes=notes)  # fmt: skip
    numbers = {f"m={r['messiness']:g}": {k: r[k] for k in TABLE if k != "messiness"} for r in rows}
    return ExperimentResult([*paths, md], table, shrunk, numbers)


DESCRIPTION = "toy addition: best train/test accuracy over messiness x decoder norm (L and U)"


def goldilocks_margin(numbers: dict) -> float:
    """Best test accuracy over the alpha grid minus the better of its two ends, m = 0 (> 0:
    best at a middle norm)."""
    m = numbers["m=0"]
    return m["best_val_acc"] - max(m["val_acc_smallest_alpha"], m["val_acc_largest_alpha"])


CLAIMS = (
    Claim(
        "Test accuracy is best at a Goldilocks decoder norm, lower at both ends (Sec. 3, "
        "Fig. 6/8: the U)",
        paper="U",
        quantity="best test accuracy minus the better end's, m = 0",
        value=goldilocks_margin,
        rule="> 0",
    ),
    Claim(
        "The training set is fitted at every norm above a small one (the L)",
        paper="L",
        quantity="smallest alpha whose train accuracy reaches 100 %, m = 0",
        value=value_at("m=0.smallest_alpha_fitting_train"),
        rule="<= 1",
    ),
)
register(Experiment("omnigrok-toy", TITLE, DESCRIPTION, run, claims=CLAIMS))
