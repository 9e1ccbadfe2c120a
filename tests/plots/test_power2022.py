"""Tests for src/groklab/plots/power2022.py."""

import numpy as np
from matplotlib.figure import Figure

from groklab.analysis import summarize
from groklab.plots.curves import plot_accuracy
from groklab.plots.power2022 import (
    mark_threshold_steps,
    plot_steps_by_fraction,
    title_with_shrunk,
)


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
    mark_threshold_steps(ax, 100.0, float("nan"))
    assert ax.lines[-1].get_xdata()[0] == 101  # x is step + 1
    assert len(ax.lines) == 3


def test_title_says_what_was_shrunk_only_when_something_was():
    fig = title_with_shrunk(Figure(), "Fig. 1", "p = 7 (paper 97)")
    assert fig.get_suptitle() == "Fig. 1\nShrunk from the paper: p = 7 (paper 97)"
    assert title_with_shrunk(Figure(), "Fig. 1").get_suptitle() == "Fig. 1"
