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
every checkpoint (`*_final_keys` in the store; `restricted_loss` / `excluded_loss` use each
checkpoint's own). Phases are read off the curves: memorization ends at the first evaluation
with 99 % train accuracy, cleanup starts at the first with 50 % test accuracy and ends at 99 %.

Numbers: the phase boundaries, the key frequencies, and the measures at each boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes

from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
    register,
    write_markdown,
)
from groklab.experiments.claims import GROKKING_DELAY, Claim, difference, ratio, value_at
from groklab.experiments.common import (
    LR,
    MODEL,
    STEPS,
    Note,
    P,
    RunSize,
    describe_model,
    keeping_checkpoints,
    shown,
    shrunk_text,
    train_points,
)
from groklab.plots.style import build_figure, save_figure, title_with_shrunk
from groklab.spec import PRESETS, DataSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.sweep import write_rows_csv

TITLE = "Nanda et al. 2023, Fig. 5-7"
MEASURES = (
    "fourier_embed",
    "gini",
    "key_frequencies",
    "restricted_loss",
    "restricted_loss_final_keys",
)


@dataclass(frozen=True, kw_only=True)
class ProgressSize(RunSize):
    p: int
    train_fraction: float
    weight_decay: float
    keep: str  # which checkpoints to keep and measure (--keep-checkpoints)
    seed: int


SIZES = {
    "paper": ProgressSize(p=113, train_fraction=0.3, model=PRESETS["nanda2023"], lr=1e-3,
                          weight_decay=1.0, steps=40_000, eval_every=100, keep="every:500",
                          seed=0),
    # p = 59 at 40 % memorizes first and groks within ~2k steps at lr 3e-3; at lr 1e-3 and 50 %
    # it reached 33 % test accuracy by step 200, while still memorizing, and 99 % by ~1.6k
    "quick": ProgressSize(p=59, train_fraction=0.4, model=replace(PRESETS["nanda2023"],
                          d_model=64, d_mlp=256), lr=3e-3, weight_decay=1.0, steps=3000,
                          eval_every=25, keep="every:50", seed=0),
    "micro": ProgressSize(p=11, train_fraction=0.5, model=replace(PRESETS["nanda2023"],
                          d_model=16, n_heads=2, d_mlp=32), lr=1e-2, weight_decay=1.0,
                          steps=40, eval_every=10, keep="every:10", seed=0),
}  # fmt: skip
FRACTION: Note = ("train fraction {} (paper {})", shown("train_fraction", "{:.0%}".format))
KEEP: Note = ("checkpoints {} (paper {})", shown("keep"))
NOTES: tuple[Note, ...] = (P, FRACTION, MODEL, LR, STEPS, KEEP)


def run_spec(size: ProgressSize) -> RunSpec:
    return RunSpec(
        data=DataSpec(op="add", p=size.p, layout="x_y_eq"),
        model=size.model,
        optim=OptimSpec(optimizer="adamw", beta1=0.9, beta2=0.98, warmup_steps=10),
        train=TrainSpec(steps=size.steps, batch_size="full", eval_every=size.eval_every),
        members=members_from(
            seed=size.seed,
            train_fraction=size.train_fraction,
            lr=size.lr,
            weight_decay=size.weight_decay,
        ),
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


def phase_steps(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """memorized: first 99 % train accuracy; cleanup: first 50 % test; grokked: first 99 %."""
    step = curves["step"]

    def first(name: str, level: float) -> float:
        hit = np.flatnonzero(curves[name][0] >= level)
        return float(step[hit[0]]) if hit.size else float("nan")

    return {
        "memorized": first("train_acc", 0.99),
        "cleanup": first("val_acc", 0.5),
        "grokked": first("val_acc", 0.99),
    }


def at(curves: dict[str, np.ndarray], name: str, step: float) -> float:
    """The value of measure `name` at the last recorded step <= `step` (nan if none)."""
    if step != step:
        return float("nan")
    values = curves[name][0]
    seen = np.flatnonzero(np.isfinite(values) & (curves["step"] <= step))
    return float(values[seen[-1]]) if seen.size else float("nan")


def mark_phases(ax: Axes, phases: dict[str, float], end: float) -> None:
    spans = [("memorization", 0.0, phases["memorized"]),
             ("circuit formation", phases["memorized"], phases["cleanup"]),
             ("cleanup", phases["cleanup"], phases["grokked"]),
             ("", phases["grokked"], end)]  # fmt: skip
    colors = ("#eeeeee", "#fff2cc", "#d9ead3", "#ffffff")
    for i, ((label, lo, hi), color) in enumerate(zip(spans, colors, strict=True)):
        if lo == lo and hi == hi and hi > lo:
            ax.axvspan(lo, hi, color=color, zorder=0)
            if label:  # staggered, so a short phase's label does not run into the next
                ax.text((lo + hi) / 2, 0.98 - 0.06 * (i % 2), label, fontsize=7, ha="center",
                        va="top", transform=ax.get_xaxis_transform())  # fmt: skip


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
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("step")
    loss_ax.set_title("losses", fontsize=10)
    loss_ax.legend(fontsize=7, loc="lower left")
    mark_phases(loss_ax, phases, end)
    seen = np.isfinite(curves["sum_sq_weights"][0])
    weight_ax.plot(x[seen], curves["sum_sq_weights"][0][seen], color="k", label="sum sq. weights")
    weight_ax.set_xlabel("step")
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
    embed_ax.set_title(f"W_E Fourier norms at the end; key: {', '.join(map(str, keys))}",
                       fontsize=10)  # fmt: skip


def run(ctx: ExperimentContext) -> ExperimentResult:
    from groklab.store import RunStore

    size = SIZES[ctx.size]
    shrunk = shrunk_text(size, SIZES["paper"], NOTES)
    spec = run_spec(size)
    train_points([spec], keeping_checkpoints(ctx, size.keep), max_members=1)
    with RunStore(ctx.store_root) as store:
        history = measure_history(store, spec.run_id)
        curves = store.read_measures(spec.run_id)
    keys, phases = history["keys"], phase_steps(curves)
    fig = build_figure(3, figsize=(15.0, 4.6))
    draw(fig, curves, phases, keys, size.p)
    task = f"x + y mod {size.p}, {size.train_fraction:.0%} training data, full batch"
    title_with_shrunk(fig, f"{TITLE}: {task}, {describe_model(size.model)}", shrunk)
    paths = [ctx.out_dir / "progress.png", ctx.out_dir / "progress.csv"]
    save_figure(fig, paths[0])
    names = ["train_loss", "val_loss", "val_acc", "restricted_loss_final_keys",
             "excluded_loss_final_keys", "restricted_loss", "excluded_loss", "sum_sq_weights",
             "gini/W_E", "gini/W_L", "fourier/n_key"]  # fmt: skip
    measured = np.isfinite(curves["sum_sq_weights"][0])
    rows = [{"step": int(s), **{n: float(curves[n][0][i]) for n in names}}
            for i, s in enumerate(curves["step"]) if measured[i]]  # fmt: skip
    write_rows_csv(rows, paths[1])
    numbers = progress_numbers(curves, phases, keys)
    table = markdown_table(
        ["phase ends at", "step", "train loss", "test loss", "restricted", "excluded",
         "sum sq. weights", "Gini W_E"],  # fmt: skip
        [[label, phases[key], *(at(curves, n, phases[key]) for n in names[:2]),
          *(at(curves, n, phases[key]) for n in names[3:5]),
          at(curves, "sum_sq_weights", phases[key]), at(curves, "gini/W_E", phases[key])]
         for key, label in (("memorized", "memorization"), ("cleanup", "circuit formation"),
                            ("grokked", "cleanup"))],
    )  # fmt: skip
    notes = (
        f"Task: {task}; model: {describe_model(size.model)}, tokens [x, y, =]; AdamW lr "
        f"{size.lr:g}, betas (0.9, 0.98), weight decay {size.weight_decay:g}, 10 warm-up "
        f"steps, seed {size.seed}. Key frequencies of the final model: {keys}. Restricted and "
        "excluded loss use them at every checkpoint. Paper (TransformerLens demo's stored "
        "run): 99 % test accuracy at ~14k steps; key frequencies 14, 35, 41, 42, 52 (another "
        "seed finds others)."
    )
    md = write_markdown(ctx.out_dir / "progress.md", title=TITLE, table=table, shrunk=shrunk,
                        notes=notes)  # fmt: skip
    return ExperimentResult([*paths, md], table, shrunk, numbers)


def progress_numbers(curves: dict, phases: dict, keys: list[int]) -> dict:
    """The phase boundaries and the three claims, each as the numbers it rests on."""
    mem, clean, grok = phases["memorized"], phases["cleanup"], phases["grokked"]
    first = float(curves["step"][np.flatnonzero(np.isfinite(curves["sum_sq_weights"][0]))[0]])
    r = "restricted_loss_final_keys"
    e = "excluded_loss_final_keys"
    return {
        "phases": phases,
        "key_frequencies": keys,
        "restricted_at": {"memorized": at(curves, r, mem), "cleanup": at(curves, r, clean)},
        "excluded_at": {"memorized": at(curves, e, mem), "cleanup": at(curves, e, clean)},
        "sum_sq_weights_at": {
            "cleanup": at(curves, "sum_sq_weights", clean),
            "grokked": at(curves, "sum_sq_weights", grok),
        },  # fmt: skip
        "gini_W_E_at": {
            "start": at(curves, "gini/W_E", first),
            "memorized": at(curves, "gini/W_E", mem),
            "grokked": at(curves, "gini/W_E", grok),
        },  # fmt: skip
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
    Claim(
        "Training splits into memorization, circuit formation and cleanup, in that order "
        "(Sec. 5: 0-1.4k, 1.4k-9.4k, 9.4k-14k steps)",
        paper="1.4k / 9.4k / 14k",
        quantity="memorized < cleanup start <= grokked (1 yes, 0 no)",
        value=phases_in_order,
        rule="== 1",
    ),
    Claim(
        "Test accuracy comes long after train accuracy (grokking)",
        paper="~12.6k steps",
        quantity="steps from memorization to 99 % test",
        value=difference(value_at("phases.grokked"), value_at("phases.memorized")),
        rule=f">= {GROKKING_DELAY}",
    ),
    Claim(
        "Restricted loss (key frequencies of the final model only) falls during circuit "
        "formation, before test loss does (Sec. 5.2, Fig. 7)",
        paper="falls by decades",
        quantity="restricted loss at cleanup start / at memorization",
        value=ratio(value_at("restricted_at.cleanup"), value_at("restricted_at.memorized")),
        rule="<= 0.5",
    ),
    Claim(
        "Excluded loss (key frequencies removed, train set) rises during circuit formation "
        "(Sec. 5.2, Fig. 7)",
        paper="rises",
        quantity="excluded loss at cleanup start / at memorization",
        value=ratio(value_at("excluded_at.cleanup"), value_at("excluded_at.memorized")),
        rule=">= 2",
    ),
    Claim(
        "The sum of squared weights falls during cleanup (Sec. 5.2)",
        paper="falls",
        quantity="sum of squared weights at grokking / at cleanup start",
        value=ratio(value_at("sum_sq_weights_at.grokked"), value_at("sum_sq_weights_at.cleanup")),
        rule="< 1",
    ),
    Claim(
        "The embedding becomes sparse in the Fourier basis: the Gini coefficient of W_E's "
        "Fourier norms rises (Sec. 5.2)",
        paper="rises",
        quantity="Gini at grokking / at memorization",
        value=ratio(value_at("gini_W_E_at.grokked"), value_at("gini_W_E_at.memorized")),
        rule="> 1",
    ),
    Claim(
        "A handful of key frequencies (main seed: 14, 35, 41, 42, 52; other seeds 3-5 "
        "others, App. C)",
        paper="5",
        quantity="key frequencies of the final model",
        value=lambda n: float(len(n["key_frequencies"])),
        rule="in [3, 6]",
    ),
)
register(Experiment("nanda2023-progress", TITLE, DESCRIPTION, run, claims=CLAIMS))
