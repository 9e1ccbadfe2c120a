"""Tests for src/groklab/plots/embeddings.py."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.plots.embeddings import plot_projection


def test_projection_draws_one_labelled_point_per_class_colored_around_a_cycle():
    points = np.random.default_rng(0).normal(size=(5, 2))
    ax = plot_projection(Figure().subplots(), points, title="PCA", xlabel="PC 1", ylabel="PC 2")
    (scatter,) = ax.collections
    np.testing.assert_array_equal(scatter.get_offsets(), points)
    assert len({tuple(c) for c in scatter.get_facecolors()}) == 5
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2", "3", "4"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("PCA", "PC 1", "PC 2")


def test_projection_rejects_labels_that_do_not_match_the_points():
    with pytest.raises(ValueError, match="3 labels for 5 points"):
        plot_projection(Figure().subplots(), np.zeros((5, 2)), labels=["a", "b", "c"])
