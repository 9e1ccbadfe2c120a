"""Tests for src/groklab/experiments/omnigrok_common.py: the grokking runs' helpers (panels,
their runs and files, medians over seeds, marks), at micro size."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.common import curve_numbers, train_points
from groklab.experiments.kit import write_files
from groklab.experiments.omnigrok_common import (
    ENDS,
    Grokking,
    Panel,
    constrained,
    dotted,
    grokking_files,
    member_curves,
    panel_run,
    paper_alphas,
    plot_grokking_runs,
)
from groklab.spec import DataSpec, RunSpec, members_from
from groklab.store.db import METRICS as STORE_METRICS

from .conftest import BASE, MICRO_MLP, PNG_MAGIC


def test_paper_alphas_are_21_log_spaced_values_from_0_1_to_10():
    alphas = paper_alphas(21)
    assert len(alphas) == 21
    np.testing.assert_allclose([alphas[0], alphas[10], alphas[-1]], [0.1, 1.0, 10.0])
    np.testing.assert_allclose(np.diff(np.log10(alphas)), 0.1)


def test_constrained_sets_the_norm_constraint_and_zero_weight_decay_for_every_member():
    spec = RunSpec(members=members_from(seed=[0, 1], weight_decay=[0.1, 1.0]))
    fixed = constrained(spec)
    assert fixed.interventions.norm_constraint
    assert [m.weight_decay for m in fixed.members] == [0.0, 0.0]
    assert [m.seed for m in fixed.members] == [0, 1]


def test_plot_grokking_runs_draws_one_panel_per_run_with_a_twin_norm_axis(tmp_path):
    result = train_points([BASE], ExperimentContext("micro", tmp_path, tmp_path / "store"))
    curves = member_curves(result, result.rows[0])
    assert curves["train_acc"].shape == (1, len(curves["step"]))
    fig = plot_grokking_runs([("a", curves), ("b", curves)])
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["a", "b"]
    assert len(fig.axes) == 4  # two panels, each with its weight-norm twin


def test_panel_trains_with_its_own_weight_decay_the_sizes_or_zero_when_constrained():
    assert Panel("a", "a", weight_decay=1.0).weight_decay_or(0.1) == 1.0
    assert Panel("b", "b").weight_decay_or(0.1) == 0.1
    assert Panel("c", "c", weight_decay=1.0, constrained=True).weight_decay_or(0.1) == 0.0


def test_grokking_files_are_the_figure_a_csv_per_run_and_the_summary(tmp_path):
    ctx = ExperimentContext("micro", tmp_path, tmp_path / "store")
    curves = {name: np.array([[1.0, 0.5]]) for name in STORE_METRICS} | {"step": np.array([0, 10])}
    rows = [{"run": "a", "x": 1}, {"run": "b", "x": 2}]
    files = grokking_files("g", [("a", "run a", curves), ("b", "run b", curves)], rows, title="t")
    paths = write_files(files, ctx)
    assert [p.name for p in paths] == ["g.png", "g_a.csv", "g_b.csv", "g_summary.csv"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC
    with open(paths[-1]) as f:
        assert [row["x"] for row in csv.DictReader(f)] == ["1", "2"]


def test_panel_run_takes_the_sizes_seed_and_weight_decay_and_holds_a_constrained_norm():
    size = SimpleNamespace(
        model=MICRO_MLP, lr=1e-2, steps=12, eval_every=4, seed=3, weight_decay=0.5
    )
    data = DataSpec(dataset="teacher_student", n_examples=30)
    free = panel_run(size, Panel("free", "free", init_scale=2.0), data, n_train=10)
    held = panel_run(size, Panel("held", "held", init_scale=2.0, constrained=True), data)
    assert (free.members[0].seed, free.members[0].weight_decay) == (3, 0.5)
    assert free.members[0].init_scale == 2.0 and free.members[0].n_train == 10
    assert not free.interventions.norm_constraint
    assert held.interventions.norm_constraint and held.members[0].weight_decay == 0.0


def test_grokking_over_seeds_gives_each_panels_median_and_keeps_every_seeds_row(tmp_path):
    size = SimpleNamespace(model=MICRO_MLP, lr=1e-2, steps=12, eval_every=4, seed=0)
    data = DataSpec(dataset="teacher_student", n_examples=30)
    panels = (Panel("big", "alpha 2", init_scale=2.0), Panel("one", "alpha 1"))
    grokking = Grokking(panels, "g", lambda c: curve_numbers(c, ENDS))
    ctx = ExperimentContext("micro", tmp_path, tmp_path / "store")

    def specs(seeds):
        train = {"loss": "mse"}
        return [
            panel_run(size, p, data, seed=s, n_train=10, train=train) for s in seeds for p in panels
        ]

    alone, _ = grokking.run(specs([0]), ctx, size, "t")
    rows, files = grokking.run(specs([0, 1, 2]), ctx, size, "t", seeds=(0, 1, 2))
    per_seed = files.tables["g_summary.csv"]
    assert [(r["run"], r["seed"]) for r in per_seed] == [
        (name, seed) for seed in (0, 1, 2) for name in ("big", "one")
    ]
    assert [r["run_id"] for r in per_seed[:2]] == [r["run_id"] for r in alone]  # seed 0 kept
    assert len({r["run_id"] for r in per_seed}) == 3  # a population of the 2 panels per seed
    for p, row in enumerate(rows):
        assert row["run"] == panels[p].name and row["seeds"] == 3
        assert "run_id" not in row and "seed" not in row
        for k in ENDS:
            assert row[k] == np.median([r[k] for r in per_seed[p::2]])
    assert rows[0]["initial_weight_norm"] != per_seed[0]["initial_weight_norm"]  # not seed 0's
    curves = files.tables["g_big.csv"]  # a member per seed
    assert curves["weight_norm"].shape[0] == 3
    np.testing.assert_array_equal(
        curves["weight_norm"][:, 0], [r["initial_weight_norm"] for r in per_seed[::2]]
    )
    with pytest.raises(ValueError, match="5 specs for 2 panels x 3 seeds"):
        grokking.run(specs([0, 1, 2])[:5], ctx, size, "t", seeds=(0, 1, 2))


def test_dotted_marks_each_named_step_that_was_reached_one_step_later():
    curve = np.array([[0.5, 1.0]])
    curves = {"step": np.array([0, 10]), "train_acc": curve, "val_acc": curve}
    ax = plot_grokking_runs([("run", {**curves, "weight_norm": curve})]).axes[0]
    before = len(ax.lines)
    mark = dotted(steps_to_train="red", steps_to_val="blue")
    mark(ax, {"steps_to_train": 9.0, "steps_to_val": float("nan")})  # validation: never
    marks = ax.lines[before:]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == 10.0 and marks[0].get_color() == "red"
