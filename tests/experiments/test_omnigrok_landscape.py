"""Tests for src/groklab/experiments/omnigrok_landscape.py: the landscape runner (cells, shapes,
reuse from the store, constrained norms), its files and the best alpha per row, at micro size."""

import csv

import numpy as np
import pytest

from groklab.experiments import ExperimentContext
from groklab.experiments.common import member_curves, train_points
from groklab.experiments.kit import write_files
from groklab.experiments.omnigrok_landscape import (
    METRICS,
    Landscape,
    best_alpha_by_row,
    landscape_files,
    landscape_points,
    run_landscape,
)
from groklab.spec import DataSpec, RunSpec

from .conftest import BASE, MICRO_MLP, PNG_MAGIC, CountingBackend

ALPHAS = (0.5, 1.0, 3.0)
N_TRAIN = (10, 20)


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
