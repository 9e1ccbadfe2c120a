"""Tests for src/groklab/plots/style.py: a figure's title and panel note saying what a size
shrank."""

from matplotlib.figure import Figure

from groklab.plots.style import build_figure, plot_size_note, title_with_shrunk


def test_title_says_what_was_shrunk_only_when_something_was():
    fig = title_with_shrunk(Figure(), "Fig. 1", "p = 7 (paper 97)")
    assert fig.get_suptitle() == "Fig. 1\nShrunk from the paper: p = 7 (paper 97)"
    assert title_with_shrunk(Figure(), "Fig. 1").get_suptitle() == "Fig. 1"


def test_size_note_names_the_size_and_what_it_shrank_or_else_the_settings():
    ax = build_figure(1).axes[0]
    assert (
        plot_size_note(ax, "quick", "p = 31 (paper 97)", "settings", width=80).get_title(loc="left")
        == "quick size, shrunk from the paper: p = 31 (paper 97)"
    )
    assert plot_size_note(ax, "paper", "", "AdamW lr 0.001", width=80).get_title(loc="left") == (
        "AdamW lr 0.001"
    )
