"""Tests for src/groklab/experiments/power2022_embeddings.py (Power et al. 2022, Fig. 3)."""

import csv

import pytest

from groklab.experiments import ExperimentContext, get_experiment
from groklab.experiments.power2022_embeddings import N_COMPONENTS, SIZES, run_spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def checkpoint_mtimes(store_root):
    return {p.name: p.stat().st_mtime_ns for p in (store_root / "checkpoints").iterdir()}


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    root = tmp_path_factory.mktemp("embeddings")
    (root / "out").mkdir()
    ctx = ExperimentContext(size="micro", out_dir=root / "out", store_root=root / "store")
    experiment = get_experiment("power2022-embeddings")
    first = experiment.run(ctx)
    mtimes = checkpoint_mtimes(root / "store")
    second = experiment.run(ctx)
    return first, second, mtimes, checkpoint_mtimes(root / "store")


def test_micro_writes_projection_figure_points_csv_summary_and_markdown(micro):
    result = micro[0]
    names = sorted(p.name for p in result.paths)
    assert names == [
        "curves_add.csv",
        "embeddings.md",
        "embeddings_add.csv",
        "embeddings_add.png",
        "embeddings_summary.csv",
    ]
    assert next(p for p in result.paths if p.suffix == ".png").read_bytes()[:8] == PNG_MAGIC
    points = list(
        csv.DictReader(next(p for p in result.paths if p.name == "embeddings_add.csv").open())
    )
    assert [int(r["class"]) for r in points] == list(range(7))  # one point per class of mod 7
    assert {"pca_1", "pca_2", "tsne_1", "tsne_2"} <= set(points[0])


def test_markdown_says_what_micro_shrank(micro):
    result = micro[0]
    text = next(p for p in result.paths if p.suffix == ".md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "x + y mod 7 only" in result.shrunk and "30 steps" in result.shrunk
    assert "x + y (mod 7)" in text


def test_numbers_give_explained_variance_of_top_components_summing_to_at_most_1(micro):
    add = micro[0].numbers["add"]
    shares = [add[f"pca_{i}_variance"] for i in range(1, N_COMPONENTS + 1)]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
    assert 0 <= add["ring_share"] <= 1 and 1 <= add["ring_frequency"] <= 3


def test_second_run_trains_nothing(micro):
    first, second, before, after = micro
    assert len(before) == 1 and before == after
    assert second.table == first.table


def test_paper_projects_x_plus_y_mod_97_and_s5_on_the_power_model():
    specs = [run_spec(SIZES["paper"], r) for r in SIZES["paper"]["runs"]]
    assert [(s.data.op, s.data.p) for s in specs] == [("add", 97), ("s5_mul", 97)]
    assert all(s.model.arch == "transformer" and s.model.d_model == 128 for s in specs)
