import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.analysis.curves import member_median
from groklab.analysis.settings import member_groups
from groklab.errors import GroklabError
from groklab.plots.curves import plot_accuracy, plot_run, save_figure

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "weight_norm", "lr")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_curves(n_members: int, n_steps: int = 30) -> dict[str, np.ndarray]:
    steps = np.unique(np.geomspace(1, 1e4, n_steps).astype(np.int64)) - 1  # starts at step 0
    rng = np.random.default_rng(n_members)
    curves = {"step": steps}
    for name in METRICS:
        curves[name] = 0.9 * rng.random((n_members, steps.size))  # never 99 %: no markers
    return curves


@pytest.mark.parametrize("n_members", [1, 3])
def test_plot_run_writes_png(tmp_path, n_members):
    fig = plot_run(make_curves(n_members), title="r-0123456789")
    save_figure(fig, tmp_path / "run.png")
    assert (tmp_path / "run.png").read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_accuracy_panel_has_one_line_per_member_plus_median_and_shifts_step_zero():
    curves = make_curves(3)
    ax = plot_accuracy(Figure().subplots(), curves)
    assert len(ax.lines) == 2 * (3 + 1)  # train and val: 3 members + median each
    assert ax.get_xscale() == "log" and "step + 1" in ax.get_xlabel()
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), curves["step"] + 1)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train (median of 3)",
        "validation (median of 3)",
    ]


def test_single_member_gets_no_median_line():
    ax = plot_accuracy(Figure().subplots(), make_curves(1))
    assert len(ax.lines) == 2


def test_plot_run_puts_weight_norm_on_twin_axis_with_one_legend():
    fig = plot_run(make_curves(2))
    acc_ax, loss_ax, norm_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and norm_ax.get_ylabel() == "weight norm"
    assert acc_ax.get_legend() is None
    assert len(norm_ax.get_legend().get_texts()) == 3


def test_plot_run_without_evaluations_still_saves(tmp_path):
    save_figure(plot_run(make_curves(2, n_steps=0)), tmp_path / "empty.pdf")
    assert (tmp_path / "empty.pdf").read_bytes()[:4] == b"%PDF"


def test_save_figure_into_missing_directory_names_it(tmp_path):
    with pytest.raises(GroklabError, match=f"directory {tmp_path / 'nope'} does not exist"):
        save_figure(Figure(), tmp_path / "nope" / "run.png")


def test_save_figure_with_unknown_suffix_lists_formats(tmp_path):
    with pytest.raises(GroklabError, match=r"suffix '\.jpeg'; use one of \('png', 'pdf', 'svg'\)"):
        save_figure(Figure(), tmp_path / "run.jpeg")
    assert list(tmp_path.iterdir()) == []


def wd_groups():
    """README's population: seeds 0-3 with weight decays 0.3, 1, 1, 3."""
    return member_groups([{"seed": s, "weight_decay": w} for s, w in enumerate((0.3, 1, 1, 3.0))])


def test_grouped_population_gets_one_median_per_group_and_a_legend_by_what_differs():
    curves = make_curves(4)
    ax = plot_accuracy(Figure().subplots(), curves, groups=wd_groups())
    # train and val: groups of 1 and 3 are one line each; the 2-seed group is 2 members + median
    assert len(ax.lines) == 2 * (1 + 3 + 1)
    median = [line for line in ax.lines if line.get_linewidth() > 2]
    assert len(median) == 2  # only the wd 1 group has a median
    expected = np.median(curves["val_acc"][[1, 2]], axis=0)  # plain median of members 1 and 2
    val_median = [line for line in median if line.get_linestyle() == "-"][0]
    np.testing.assert_allclose(val_median.get_ydata(), expected)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["wd 0.3", "wd 1 (2 seeds)", "wd 3", "train", "validation"]
    assert len(ax.collections) == 2  # one min-max band per median


def test_grouped_plot_run_has_one_legend_with_weight_norm_style():
    fig = plot_run(make_curves(4), groups=wd_groups(), title="r-0123456789: add p=7")
    acc_ax, loss_ax, norm_ax = fig.axes
    assert acc_ax.get_legend() is None
    assert [t.get_text() for t in norm_ax.get_legend().get_texts()][-3:] == [
        "train",
        "validation",
        "weight norm",
    ]


def test_first_step_at_99_percent_gets_a_marker_named_in_the_legend():
    curves = make_curves(1, n_steps=5)
    curves["val_acc"][0] = [0.1, 0.5, 0.995, 1.0, 1.0][: curves["step"].size]
    ax = plot_accuracy(Figure().subplots(), curves)
    step = int(curves["step"][2])
    marker = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(marker) == 1 and marker[0].get_xdata()[0] == step + 1
    assert f"validation 99 % at step {step:,}" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]


def test_median_marker_sits_where_the_median_reaches_99_percent():
    curves = make_curves(3, n_steps=4)
    curves["train_acc"] = np.array([[0.2, 1.0, 1.0, 1.0], [0.2, 0.5, 1.0, 1.0], [0.2, 0.5, 0.5, 1]])
    ax = plot_accuracy(Figure().subplots(), curves)
    marker = [line for line in ax.lines if line.get_marker() == "o"][0]
    first = np.flatnonzero(member_median(curves["train_acc"]) >= 0.99)[0]
    assert marker.get_xdata()[0] == curves["step"][first] + 1
