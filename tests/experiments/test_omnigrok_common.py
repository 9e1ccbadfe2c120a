"""Tests for src/groklab/experiments/omnigrok_common.py: the landscape runner (cells, shapes,
reuse from the store, constrained norms) and the grokking-run helpers, at micro size."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.common import curve_numbers, train_points
from groklab.experiments.kit import write_files
from groklab.experiments.omnigrok_common import (
    ENDS,
    METRICS,
    Grokking,
    Landscape,
    Panel,
    best_alpha_by_row,
    constrained,
    dotted,
    grokking_files,
    landscape_files,
    landscape_points,
    member_curves,
    panel_run,
    paper_alphas,
    plot_grokking_runs,
    run_landscape,
)
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store.db import METRICS as STORE_METRICS
from groklab.sweep import LocalBackend

MICRO_MLP = ModelSpec(arch="mlp", n_layers=2, d_mlp=8, act="tanh", mlp_bias=True)
BASE = RunSpec(
    data=DataSpec(dataset="teacher_student", n_examples=30),
    model=MICRO_MLP,
    optim=OptimSpec(optimizer="adamw", warmup_steps=0),
    train=TrainSpec(steps=12, batch_size="full", eval_every=4, loss="mse"),
    members=members_from(seed=0, n_train=10, lr=1e-2, weight_decay=0.5),
)
ALPHAS = (0.5, 1.0, 3.0)
N_TRAIN = (10, 20)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CountingBackend(LocalBackend):
    """The local backend, remembering which populations it trained."""

    def __init__(self) -> None:
        super().__init__()
        self.trained: list[str] = []

    def run(self, specs, **kwargs):
        self.trained += [spec.run_id for spec in specs]
        return super().run(specs, **kwargs)


@pytest.fixture(scope="module")
def landscapes(tmp_path_factory):
    """The micro landscape run twice into one store: (first, second, context, backend, trained
    after the first run)."""
    root = tmp_path_factory.mktemp("landscape")
    backend = CountingBackend()
    ctx = ExperimentContext("micro", root, root / "store", backend=backend)
    first = run_landscape(BASE, alphas=ALPHAS, axis="n_train", values=N_TRAIN, ctx=ctx)
    trained = list(backend.trained)
    second = run_landscape(BASE, alphas=ALPHAS, axis="n_train", values=N_TRAIN, ctx=ctx)
    return first, second, ctx, backend, trained


def test_paper_alphas_are_21_log_spaced_values_from_0_1_to_10():
    alphas = paper_alphas(21)
    assert len(alphas) == 21
    np.testing.assert_allclose([alphas[0], alphas[10], alphas[-1]], [0.1, 1.0, 10.0])
    np.testing.assert_allclose(np.diff(np.log10(alphas)), 0.1)


def test_landscape_points_are_rows_outer_alphas_inner_constrained_without_weight_decay():
    points = landscape_points(BASE, alphas=ALPHAS, axis="n_train", values=N_TRAIN)
    cells = [(p.members[0].n_train, p.members[0].init_scale) for p in points]
    assert cells == [(n, a) for n in N_TRAIN for a in ALPHAS]
    for p in points:
        assert p.interventions.norm_constraint and p.members[0].weight_decay == 0.0
        assert p.n_members == 1 and p.optim == BASE.optim and p.train == BASE.train


def test_landscape_points_set_a_data_field_per_row():
    base = RunSpec(data=DataSpec(dataset="toy_add", p=5), model=MICRO_MLP)
    points = landscape_points(base, alphas=(1.0,), axis="data.messiness", values=(0.0, 0.5))
    assert [p.data.messiness for p in points] == [0.0, 0.5]
    assert points[0].shape_key != points[1].shape_key  # a data field: separate populations


def test_landscape_has_one_cell_per_value_and_alpha_with_every_best_metric(landscapes):
    land = landscapes[0]
    assert land.axis == "n_train"
    np.testing.assert_array_equal(land.alphas, ALPHAS)
    np.testing.assert_array_equal(land.values, N_TRAIN)
    assert set(land.best) == set(METRICS)
    for metric in METRICS:
        assert land.best[metric].shape == (2, 3) and np.isfinite(land.best[metric]).all()
    for metric in ("best_train_acc", "best_val_acc"):
        assert ((land.best[metric] >= 0) & (land.best[metric] <= 1)).all()
    assert land.norms.shape == (2, 3)
    rows = land.rows()
    assert len(rows) == 6 and rows[1]["n_train"] == 10 and rows[1]["init_scale"] == 1.0


def test_constrained_norm_is_alpha_times_the_initial_norm_and_holds_through_training(tmp_path):
    points = landscape_points(BASE, alphas=ALPHAS, axis="n_train", values=(10,))
    result = train_points(points, ExperimentContext("micro", tmp_path, tmp_path / "store"))
    norms = np.stack([member_curves(result, row)["weight_norm"][0] for row in result.rows])
    unit = norms[1, 0]  # alpha = 1 at step 0: ||theta_0||
    np.testing.assert_allclose(norms, np.array(ALPHAS)[:, None] * unit * np.ones_like(norms),
                               rtol=1e-4)  # fmt: skip
    free = train_points([BASE], ExperimentContext("micro", tmp_path, tmp_path / "store"))
    free_norm = member_curves(free, free.rows[0])["weight_norm"][0]
    assert free_norm[0] == pytest.approx(unit, rel=1e-5) and free_norm[-1] < unit  # decays


def test_landscape_norms_are_alpha_times_one_norm_for_every_row(landscapes):
    land = landscapes[0]
    unit = np.broadcast_to(land.norms[:, 1:2], land.norms.shape)  # alpha = 1: ||theta_0||
    np.testing.assert_allclose(land.norms / land.alphas, unit, rtol=1e-4)


def test_second_landscape_run_trains_nothing_and_reads_the_same_cells(landscapes):
    first, second, _, backend, trained = landscapes
    assert len(trained) == 1  # n_train and alpha are member fields: one population
    assert backend.trained == trained
    for metric in METRICS:
        np.testing.assert_array_equal(first.best[metric], second.best[metric])
    np.testing.assert_array_equal(first.norms, second.norms)


def test_landscape_files_are_a_png_and_one_csv_row_per_cell(landscapes):
    land, _, ctx, _, _ = landscapes
    paths = write_files(landscape_files(land, stem="micro", title="micro"), ctx, "everything")
    assert [p.name for p in paths] == ["micro.png", "micro.csv"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC
    rows = list(csv.DictReader(paths[1].open()))
    assert len(rows) == 6
    assert {"n_train", "init_scale", "weight_norm", *METRICS} <= set(rows[0])


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


def test_best_alpha_by_row_matches_a_plain_loop_over_rows_and_alphas():
    acc = np.array([[0.2, 0.9, 0.4], [np.nan, np.nan, np.nan], [0.7, 0.1, 0.8]])  # [R, A]
    alphas, values = np.array([0.5, 1.0, 3.0]), np.array([10, 20, 30])
    best = {m: np.zeros_like(acc) for m in METRICS} | {"best_val_acc": acc}
    land = Landscape(alphas, "n_train", values, best, np.ones_like(acc))
    expected = {}
    for r, n in enumerate(values):
        row = [(a, acc[r, i]) for i, a in enumerate(alphas) if acc[r, i] == acc[r, i]]
        alpha, top = max(row, key=lambda x: x[1]) if row else (alphas[0], acc[r, 0])
        expected[int(n)] = {"best_alpha": alpha, "best_val_acc": top,
                            "val_acc_largest_alpha": acc[r, -1]}  # fmt: skip
    np.testing.assert_equal(best_alpha_by_row(land, ends=("largest",)), expected)
    by_m = best_alpha_by_row(land, key=float)
    assert list(by_m) == [10.0, 20.0, 30.0]
    assert by_m[30.0]["val_acc_smallest_alpha"] == 0.7


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
