"""Tests for src/groklab/experiments/power2022_embeddings.py (Power et al. 2022, Fig. 3)."""

import csv

import pytest

from groklab.experiments.power2022_embeddings import N_COMPONENTS, SIZES, run_spec


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("power2022-embeddings")


def test_micro_writes_projection_figure_points_csv_summary_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "curves_add.csv",
        "embeddings.md",
        "embeddings_add.csv",
        "embeddings_add.png",
        "embeddings_summary.csv",
    ]
    assert micro.is_png("embeddings_add.png")
    points = list(csv.DictReader(micro.path("embeddings_add.csv").open()))
    assert [int(r["class"]) for r in points] == list(range(7))  # one point per class of mod 7
    assert {"pca_1", "pca_2", "tsne_1", "tsne_2"} <= set(points[0])


def test_markdown_says_what_micro_shrank(micro):
    result = micro.first
    text = micro.path("embeddings.md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "x + y mod 7 only" in result.shrunk and "30 steps" in result.shrunk
    assert "x + y (mod 7)" in text


def test_numbers_give_explained_variance_of_top_components_summing_to_at_most_1(micro):
    add = micro.first.numbers["add"]
    shares = [add[f"pca_{i}_variance"] for i in range(1, N_COMPONENTS + 1)]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
    assert 0 <= add["ring_share"] <= 1 and 1 <= add["ring_frequency"] <= 3


def test_second_run_trains_nothing(micro):
    assert len(micro.mtimes_first) == 1 and micro.mtimes_first == micro.mtimes_all
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_paper_projects_x_plus_y_mod_97_and_s5_on_the_power_model():
    specs = [run_spec(SIZES["paper"], r) for r in SIZES["paper"].runs]
    assert [(s.data.op, s.data.p) for s in specs] == [("add", 97), ("s5_mul", 5)]
    assert all(s.model.arch == "transformer" and s.model.d_model == 128 for s in specs)
