"""Nanda et al. 2023, Fig. 5-7: progress measures of x + y mod 113 over training.

Nanda's 1-layer transformer (`[x, y, =]` tokens, no LayerNorm) trained full batch with AdamW
(lr 1e-3, betas (0.9, 0.98), weight decay 1) on 30 % of the table memorizes, then forms a
Fourier circuit, then cleans the memorization away; test loss falls only in the last phase.
The measures (groklab.measures.fourier) show the circuit before test loss moves:

- memorization: train loss falls first; test loss stays high;
- circuit formation: the restricted loss (logits kept only along the key frequencies'
  cos/sin(w(x + y)), test set) falls and the excluded loss (those removed, train set) rises,
  well before test loss falls;
- cleanup: the sum of squared weights falls and the Gini coefficient of W_E's Fourier norms
  rises (the embedding becomes sparse in frequency).

As in the paper, restricted and excluded loss use the key frequencies of the final model at
every checkpoint (the `restricted_loss` measure, stored as `*_final_keys`; the CSV also has
`*_step_keys`, each checkpoint's own). Phases are read off the curves: memorization ends at the
first evaluation with 99 % train accuracy, cleanup starts at the first with 50 % test accuracy
and ends at 99 %.

Compute at the paper size: 40,000 full-batch steps of one member at ~52 ms per member-step on
one quiet core of the 2-vCPU AMD EPYC in benchmarks/RESULTS.md §22 (~35 CPU minutes) and the
measures at 80 kept checkpoints; measured once, before §22's rewrite: 53 CPU minutes on a shared
machine (benchmarks/RESULTS.md §19).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes

from groklab.experiments import common
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import GROKKING_DELAY, claim, difference, ratio, value_at
from groklab.experiments.common import describe_values
from groklab.experiments.kit import Drawing, Files, Outcome, declare, header, size_table
from groklab.plots.style import build_figure
from groklab.spec import PRESETS, DataSpec, OptimSpec, RunSpec

TITLE = "Nanda et al. 2023, Fig. 5-7"
MEASURES = header(
    "fourier_embed | gini | key_frequencies | restricted_loss | restricted_loss_step_keys"
)


@dataclass(frozen=True, kw_only=True)
class ProgressSize(common.RunSize):
    p: int
    train_fraction: float
    weight_decay: float
    keep: str  # which checkpoints to keep and measure (--keep-checkpoints)
    seed: int


NANDA = PRESETS["nanda2023"]
MICRO_MODEL = replace(NANDA, d_model=16, n_heads=2, d_mlp=32)
SIZES = size_table(
    ProgressSize,
    "p train_fraction model lr steps eval_every keep",
    {
        "paper": (113, 0.3, NANDA, 1e-3, 40_000, 100, "every:500"),
        # p = 59 at 40 % memorizes first and groks within ~2k steps at lr 3e-3; at lr 1e-3 and
        # 50 % it reached 33 % test accuracy by step 200, while still memorizing, and 99 % by ~1.6k
        "quick": (59, 0.4, replace(NANDA, d_model=64, d_mlp=256), 3e-3, 3000, 25, "every:50"),
        "micro": (11, 0.5, MICRO_MODEL, 1e-2, 40, 10, "every:10"),
    },
    weight_decay=1.0,
    seed=0,
)
FRACTION: common.Note = (
    "train fraction {} (paper {})",
    common.shown("train_fraction", "{:.0%}".format),
)
KEEP: common.Note = ("checkpoints {} (paper {})", common.shown("keep"))
NOTES: tuple[common.Note, ...] = (common.P, FRACTION, common.MODEL, common.LR, common.STEPS, KEEP)


def run_spec(size: ProgressSize) -> RunSpec:
    optim = OptimSpec(optimizer="adamw", beta1=0.9, beta2=0.98, warmup_steps=10)
    data = DataSpec(op="add", p=size.p, layout="x_y_eq")
    return common.single_run(
        size,
        data,
        optim=optim,
        seed=size.seed,
        train_fraction=size.train_fraction,
        weight_decay=size.weight_decay,
    )


def measure_history(store, run_id: str) -> dict:
    """The measures at every kept checkpoint (stored), and restricted / excluded loss with the
    final model's key frequencies (stored as *_final_keys); returns the final key set."""
    from groklab.loader import load
    from groklab.measures.fourier import model_key_frequencies
    from groklab.measures.run import measure_run

    result = measure_run(store, run_id, MEASURES)
    model, task = load(run_id, 0, result.steps[-1], store=store)
    return {"keys": model_key_frequencies(model, task), "steps": result.steps}


PHASE_STEPS = {
    "memorized": "first train_acc 0.99",
    "cleanup": "first val_acc 0.5",
    "grokked": "first val_acc 0.99",
}


def phase_steps(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """memorized: first 99 % train accuracy; cleanup: first 50 % test; grokked: first 99 %."""
    return common.curve_numbers(curves, PHASE_STEPS)


def at(curves: dict[str, np.ndarray], name: str, step: float) -> float:
    """The value of measure `name` at the last recorded step <= `step` (nan if none)."""
    if step != step:
        return float("nan")
    values = curves[name][0]
    seen = np.flatnonzero(np.isfinite(values) & (curves["step"] <= step))
    return float(values[seen[-1]]) if seen.size else float("nan")


def mark_phases(ax: Axes, phases: dict[str, float], end: float) -> None:
    edges = [0.0, phases["memorized"], phases["cleanup"], phases["grokked"], end]
    labels = ("memorization", "circuit formation", "cleanup", "")
    spans = [(label, edges[i], edges[i + 1]) for i, label in enumerate(labels)]
    colors = ("#eeeeee", "#fff2cc", "#d9ead3", "#ffffff")
    for i, ((label, lo, hi), color) in enumerate(zip(spans, colors, strict=True)):
        if lo == lo and hi == hi and hi > lo:
            ax.axvspan(lo, hi, color=color, zorder=0)
            if label:  # staggered, so a short phase's label does not run into the next
                at = ((lo + hi) / 2, 0.98 - 0.06 * (i % 2))
                style = {"fontsize": 7, "ha": "center", "va": "top"}
                ax.text(*at, label, transform=ax.get_xaxis_transform(), **style)


def draw(fig, curves: dict, phases: dict, keys: list[int], p: int) -> None:
    loss_ax, weight_ax, embed_ax = fig.axes
    x, end = curves["step"], float(curves["step"][-1])
    for name, label, style in (
        ("train_loss", "train loss", "-"),
        ("val_loss", "test loss", "-"),
        ("restricted_loss_final_keys", "restricted loss (test)", "--"),
        ("excluded_loss_final_keys", "excluded loss (train)", "--"),
    ):
        seen = np.isfinite(curves[name][0])
        loss_ax.plot(x[seen], curves[name][0][seen], style, label=label)
    loss_ax.set(yscale="log", xlabel="step")
    loss_ax.set_title("losses", fontsize=10)
    loss_ax.legend(fontsize=7, loc="lower left")
    mark_phases(loss_ax, phases, end)
    seen = np.isfinite(curves["sum_sq_weights"][0])
    weight_ax.plot(x[seen], curves["sum_sq_weights"][0][seen], color="k", label="sum sq. weights")
    weight_ax.set(xlabel="step")
    weight_ax.set_title("weights", fontsize=10)
    gini_ax = weight_ax.twinx()
    for name, color in (("gini/W_E", "#1f77b4"), ("gini/W_L", "#d62728")):
        gini_ax.plot(x[seen], curves[name][0][seen], color=color, label=f"Gini {name[5:]}")
    gini_ax.set_ylim(0, 1)
    lines = weight_ax.get_legend_handles_labels(), gini_ax.get_legend_handles_labels()
    weight_ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=7)
    mark_phases(weight_ax, phases, end)
    ks = np.arange(1, p // 2 + 1)
    norms = [curves[f"fourier/embed/{k}"][0][seen][-1] for k in ks]
    embed_ax.bar(ks, norms, color=["#d62728" if k in keys else "#999999" for k in ks])
    embed_ax.set_xlabel("frequency k")
    embed_ax.set_title(f"W_E Fourier norms at the end; key: {describe_values(keys)}", fontsize=10)


COLUMNS = header(  # the CSV's measures, after the step
    "train_loss | val_loss | val_acc | restricted_loss_final_keys | excluded_loss_final_keys | "
    "restricted_loss_step_keys | excluded_loss_step_keys | sum_sq_weights | gini/W_E | "
    "gini/W_L | fourier/n_key"
)
TABLE = {  # the table's measures, each at the end of every phase
    "train_loss": "train loss",
    "val_loss": "test loss",
    "restricted_loss_final_keys": "restricted",
    "excluded_loss_final_keys": "excluded",
    "sum_sq_weights": "sum sq. weights",
    "gini/W_E": "Gini W_E",
}
PHASE_ENDS = {"memorized": "memorization", "cleanup": "circuit formation", "grokked": "cleanup"}


def outcome(size: ProgressSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    from groklab.store import RunStore

    spec = run_spec(size)
    common.train_points([spec], common.keeping_checkpoints(ctx, size.keep), max_members=1)
    with RunStore(ctx.store_root) as store:
        history = measure_history(store, spec.run_id)
        curves = store.read_measures(spec.run_id)
    keys, phases = history["keys"], phase_steps(curves)
    fig = build_figure(3, figsize=(15.0, 4.6))
    draw(fig, curves, phases, keys, size.p)
    task = f"x + y mod {size.p}, {size.train_fraction:.0%} training data, full batch"
    measured = np.isfinite(curves["sum_sq_weights"][0])
    rows = [
        {"step": int(s), **{n: float(curves[n][0][i]) for n in COLUMNS}}
        for i, s in enumerate(curves["step"])
        if measured[i]
    ]
    cells = [
        [label, phases[key], *(at(curves, n, phases[key]) for n in TABLE)]
        for key, label in PHASE_ENDS.items()
    ]
    notes = (
        f"Task: {task}; model: {common.describe_model(size.model)}, tokens [x, y, =]; AdamW lr "
        f"{size.lr:g}, betas (0.9, 0.98), weight decay {size.weight_decay:g}, 10 warm-up "
        f"steps, seed {size.seed}. Key frequencies of the final model: {keys}. Restricted and "
        "excluded loss use them at every checkpoint. Paper (TransformerLens demo's stored "
        "run): 99 % test accuracy at ~14k steps; key frequencies 14, 35, 41, 42, 52 (another "
        "seed finds others)."
    )
    title = f"{TITLE}: {task}, {common.describe_model(size.model)}"
    files = Files([Drawing("progress.png", fig, title)], {"progress.csv": rows})
    table = markdown_table(["phase ends at", "step", *TABLE.values()], cells)
    return Outcome(progress_numbers(curves, phases, keys), table, notes, files)


def progress_numbers(curves: dict, phases: dict, keys: list[int]) -> dict:
    """The phase boundaries and the three claims, each as the numbers it rests on."""
    seen = np.flatnonzero(np.isfinite(curves["sum_sq_weights"][0]))
    steps = {**phases, "start": float(curves["step"][seen[0]])}

    def at_ends(name: str, *ends: str) -> dict[str, float]:
        return {end: at(curves, name, steps[end]) for end in ends}

    return {
        "phases": phases,
        "key_frequencies": keys,
        "restricted_at": at_ends("restricted_loss_final_keys", "memorized", "cleanup"),
        "excluded_at": at_ends("excluded_loss_final_keys", "memorized", "cleanup"),
        "sum_sq_weights_at": at_ends("sum_sq_weights", "cleanup", "grokked"),
        "gini_W_E_at": at_ends("gini/W_E", "start", "memorized", "grokked"),
    }


DESCRIPTION = "x+y mod 113: restricted/excluded loss, weight norm and Gini through the 3 phases"


def phases_in_order(numbers: dict) -> float:
    """1 if memorization ends before cleanup starts and cleanup before grokking, 0 if not,
    nan where a phase boundary was not reached."""
    mem, clean, grok = (float(numbers["phases"][k]) for k in ("memorized", "cleanup", "grokked"))
    if any(v != v for v in (mem, clean, grok)):
        return float("nan")
    return float(mem < clean <= grok)


CLAIMS = (
    claim(
        "Training splits into memorization, circuit formation and cleanup, in that order (Sec. 5: "
        "0-1.4k, 1.4k-9.4k, 9.4k-14k steps) "
        "| 1.4k / 9.4k / 14k | memorized < cleanup start <= grokked (1 yes, 0 no) | == 1",
        phases_in_order,
    ),
    claim(
        "Test accuracy comes long after train accuracy (grokking) "
        f"| ~12.6k steps | steps from memorization to 99 % test | >= {GROKKING_DELAY}",
        difference(value_at("phases.grokked"), value_at("phases.memorized")),
    ),
    claim(
        "Restricted loss (key frequencies of the final model only) falls during circuit "
        "formation, before test loss does (Sec. 5.2, Fig. 7) "
        "| falls by decades | restricted loss at cleanup start / at memorization | <= 0.5",
        ratio(value_at("restricted_at.cleanup"), value_at("restricted_at.memorized")),
    ),
    claim(
        "Excluded loss (key frequencies removed, train set) rises during circuit formation (Sec. "
        "5.2, Fig. 7) "
        "| rises | excluded loss at cleanup start / at memorization | >= 2",
        ratio(value_at("excluded_at.cleanup"), value_at("excluded_at.memorized")),
    ),
    claim(
        "The sum of squared weights falls during cleanup (Sec. 5.2) "
        "| falls | sum of squared weights at grokking / at cleanup start | < 1",
        ratio(value_at("sum_sq_weights_at.grokked"), value_at("sum_sq_weights_at.cleanup")),
    ),
    claim(
        "The embedding becomes sparse in the Fourier basis: the Gini coefficient of W_E's Fourier "
        "norms rises (Sec. 5.2) "
        "| rises | Gini at grokking / at memorization | > 1",
        ratio(value_at("gini_W_E_at.grokked"), value_at("gini_W_E_at.memorized")),
    ),
    claim(
        "A handful of key frequencies (main seed: 14, 35, 41, 42, 52; other seeds 3-5 others, "
        "App. C) "
        "| 5 | key frequencies of the final model | in [3, 6]",
        lambda n: float(len(n["key_frequencies"])),
    ),
)
STUDY = declare(
    "nanda2023-progress", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "progress.md", claims=CLAIMS
)
