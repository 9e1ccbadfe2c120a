"""groklab.plots.table: the operation table as a picture, hidden entries blank."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.data import make_table, train_mask
from groklab.plots.table import plot_table


def draw(op, p, mask=True):
    table = make_table(op, p)
    train = train_mask(table.n_examples, seed=0, train_fraction=0.5) if mask else None
    ax = Figure(figsize=(4, 4)).subplots()
    assert plot_table(ax, table, train) is ax
    return table, train, ax


def test_plot_table_writes_a_png(tmp_path):
    _, _, ax = draw("div", 7)
    path = tmp_path / "table.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_and_undefined_cells_are_blank_and_train_cells_hold_z():
    table, mask, ax = draw("div", 7)
    image = np.ma.getmaskarray(ax.images[0].get_array())
    data = ax.images[0].get_array()
    assert image.shape == (7, 7)
    assert image[:, 0].all()  # y = 0 is undefined for div
    x, y, z, m = (t.numpy() for t in (table.x, table.y, table.targets, mask))
    assert image[x[~m], y[~m]].all()
    assert not image[x[m], y[m]].any()
    assert np.array_equal(data[x[m], y[m]], z[m])
    assert image.sum() == 7 + int((~mask).sum())


def test_small_p_writes_each_visible_answer_and_labels_axes():
    table, mask, ax = draw("add", 11)
    texts = sorted(int(t.get_text()) for t in ax.texts)
    assert texts == sorted(table.targets[mask].tolist())
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("y", "x")
    assert "x + y" in ax.get_title() and "0.50" in ax.get_title()


def test_large_p_and_s5_draw_without_numbers():
    assert len(draw("add", 29)[2].texts) == 0
    _, _, ax = draw("s5_xyx", 97)
    assert ax.images[0].get_array().shape == (120, 120) and len(ax.texts) == 0
    assert "S5" in ax.get_title()


def test_without_mask_every_defined_pair_is_shown():
    _, _, ax = draw("sub", 5, mask=False)
    assert not np.ma.getmaskarray(ax.images[0].get_array()).any()
    assert len(ax.texts) == 25 and "1.00" in ax.get_title()


def test_mask_of_wrong_length_is_rejected():
    table = make_table("add", 5)
    with pytest.raises(ValueError):
        plot_table(Figure().subplots(), table, train_mask(10, seed=0, train_fraction=0.5))
