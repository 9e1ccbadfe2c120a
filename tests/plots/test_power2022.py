"""Tests for src/groklab/plots/power2022.py."""

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis import summarize
from groklab.plots.curves import plot_accuracy
from groklab.plots.power2022 import mark_threshold_steps, plot_steps_by_fraction


def steps_by_fraction():
    nan = np.nan
    return summarize(
        {
            0.3: np.array([nan, nan, nan]),
            0.5: np.array([900.0, nan, 1500.0]),
            0.7: np.array([300.0, 400.0, 350.0]),
        }
    )


def test_fractions_never_reached_get_hollow_markers_on_the_budget_line_with_counts():
    ax = plot_steps_by_fraction(Figure().subplots(), steps_by_fraction(), budget=2000)
    median, never, budget = ax.lines
    np.testing.assert_array_equal(median.get_xdata(), [0.5, 0.7])
    np.testing.assert_array_equal(median.get_ydata(), [1200.0, 350.0])
    np.testing.assert_array_equal(never.get_xdata(), [0.3, 0.5])
    np.testing.assert_array_equal(never.get_ydata(), [2000.0, 2000.0])
    assert never.get_markerfacecolor() == "none"
    assert [t.get_text() for t in ax.texts] == ["3/3 not reached", "1/3 not reached"]
    assert ax.get_yscale() == "log" and ax.get_ylim()[1] > 2000


def test_band_spans_min_to_max_of_the_seeds_that_reached():
    ax = plot_steps_by_fraction(Figure().subplots(), steps_by_fraction(), budget=2000)
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 300.0 and ys.max() == 1500.0


def test_threshold_marks_skip_a_run_that_never_reached():
    curves = {"step": np.array([0, 10, 100])}
    curves |= {k: np.array([[0.0, 0.5, 1.0]]) for k in ("train_acc", "val_acc")}
    ax = plot_accuracy(Figure().subplots(), curves)
    n_lines = len(ax.lines)
    mark_threshold_steps(ax, 100.0, float("nan"))
    assert ax.lines[-1].get_xdata()[0] == 101  # x is step + 1
    assert len(ax.lines) == n_lines + 1


def test_train_and_validation_are_both_drawn_so_the_gap_shows():
    train = summarize({0.3: np.array([50.0, 70.0]), 0.5: np.array([30.0, 40.0])})
    val = summarize({0.3: np.array([np.nan, np.nan]), 0.5: np.array([900.0, 1100.0])})
    ax = plot_steps_by_fraction(Figure().subplots(), val, budget=2000, train=train)
    train_line, val_line = ax.lines[:2]
    np.testing.assert_array_equal(train_line.get_ydata(), [60.0, 35.0])
    np.testing.assert_array_equal(val_line.get_ydata(), [1000.0])
    labels = ax.get_legend_handles_labels()[1]
    assert "99 % train, median over seeds" in labels
    assert "99 % validation, median over seeds" in labels
    assert ax.get_ylim()[0] <= 30.0  # the train band is inside the axis


def test_never_reached_says_how_close_the_best_seed_came():
    val = summarize({0.3: np.array([np.nan, np.nan]), 0.5: np.array([900.0, np.nan])})
    ax = plot_steps_by_fraction(Figure().subplots(), val, budget=2000, best={0.3: 0.9161})
    assert [t.get_text() for t in ax.texts] == ["2/2 not reached (best 0.92)", "1/2 not reached"]
