"""groklab.data.table: train masks, label noise and CSV export."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from groklab.data import (
    Table,
    make_table,
    make_train_masks,
    noisy_targets,
    train_mask,
    write_table_csv,
)
from groklab.errors import GroklabError, SpecError


@pytest.mark.parametrize(
    ("n", "fraction", "n_train"),
    [(100, 0.3, 30), (97 * 96, 0.5, 4656), (10, 0.26, 3), (10, 0.06, 1), (10, 0.94, 9)],
)
def test_train_mask_has_exactly_round_fraction_true(n, fraction, n_train):
    mask = train_mask(n, seed=0, train_fraction=fraction)
    assert mask.shape == (n,) and mask.dtype == torch.bool
    assert int(mask.sum()) == n_train


@pytest.mark.parametrize(("fraction", "count"), [(0.001, 0), (0.05, 0), (0.96, 10), (0.999, 10)])
def test_train_mask_refuses_a_fraction_leaving_no_train_or_no_validation_example(fraction, count):
    with pytest.raises(SpecError) as e:
        train_mask(10, seed=0, train_fraction=fraction)
    assert f"train_fraction={fraction} trains on {count} of 10 examples" in str(e.value)
    assert "allowed in [1/10, 9/10]" in str(e.value)


def test_train_mask_is_identical_in_another_process():
    code = (
        "from groklab.data import train_mask;"
        "print(train_mask(1000, seed=3, train_fraction=0.3).nonzero().flatten().tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = train_mask(1000, seed=3, train_fraction=0.3).nonzero().flatten().tolist()
    assert out.stdout.strip() == str(here)


def test_train_mask_differs_between_seeds():
    masks = [train_mask(1000, seed=s, train_fraction=0.5) for s in range(4)]
    assert all(not torch.equal(masks[i], masks[j]) for i in range(4) for j in range(i))


def test_mask_row_depends_on_member_not_on_its_position():
    first = make_train_masks(500, [(3, 0.5), (0, 0.5), (1, 0.5)])
    third = make_train_masks(500, [(0, 0.5), (1, 0.5), (3, 0.5)])
    assert torch.equal(first[0], third[2])
    assert torch.equal(first[0], train_mask(500, seed=3, train_fraction=0.5))


def test_members_may_have_different_train_fractions():
    masks = make_train_masks(200, [(0, 0.2), (0, 0.5), (1, 0.9)])
    assert masks.shape == (3, 200) and masks.dtype == torch.bool
    assert masks.sum(dim=1).tolist() == [40, 100, 180]


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.0, 1.5, -0.1, True, "0.5", float("nan")])
def test_train_fraction_outside_open_unit_interval_is_a_one_line_spec_error(fraction):
    with pytest.raises(SpecError) as info:
        train_mask(100, seed=0, train_fraction=fraction)
    assert "train_fraction" in str(info.value) and "\n" not in str(info.value)


def test_empty_population_is_a_spec_error():
    with pytest.raises(SpecError):
        make_train_masks(100, [])


def noisy_setup(n_outliers, seed=0):
    table = make_table("add", 13)
    mask = train_mask(table.n_examples, seed=1, train_fraction=0.4)
    noisy = noisy_targets(table.targets, mask, n_outliers=n_outliers, seed=seed, n_classes=13)
    return table.targets, mask, noisy


def test_noisy_targets_change_exactly_n_training_answers_each_to_a_wrong_one():
    targets, mask, noisy = noisy_setup(20)
    changed = noisy != targets
    assert int(changed.sum()) == 20
    assert bool(mask[changed].all())
    assert noisy.min() >= 0 and noisy.max() < 13
    assert not torch.equal(noisy, targets) and torch.equal(noisy[~changed], targets[~changed])


def test_noisy_targets_are_reproducible_by_seed_and_leave_input_alone():
    targets, _, first = noisy_setup(20, seed=5)
    before = targets.clone()
    assert torch.equal(first, noisy_setup(20, seed=5)[2])
    assert not torch.equal(first, noisy_setup(20, seed=6)[2])
    assert torch.equal(targets, before)


def test_zero_outliers_returns_targets_unchanged():
    targets, _, noisy = noisy_setup(0)
    assert torch.equal(noisy, targets)


def test_every_training_example_can_be_an_outlier_but_no_more():
    targets, mask, noisy = noisy_setup(int(noisy_setup(0)[1].sum()))
    assert torch.equal(noisy != targets, mask)
    with pytest.raises(SpecError) as info:
        noisy_targets(targets, mask, n_outliers=int(mask.sum()) + 1, seed=0, n_classes=13)
    assert "n_outliers" in str(info.value) and "\n" not in str(info.value)


def read_csv(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        return next(reader), [tuple(int(v) for v in row) for row in reader]


def table_rows(table):
    return list(zip(table.x.tolist(), table.y.tolist(), table.targets.tolist(), strict=True))


@pytest.mark.parametrize(("op", "p"), [("div", 7), ("s5_conj", 97)])
def test_csv_round_trips_with_header_and_rows_sorted_by_x_then_y(tmp_path, op, p):
    table = make_table(op, p)
    path = tmp_path / "table.csv"
    write_table_csv(table, path)
    header, rows = read_csv(path)
    assert header == ["x", "y", "z"]
    assert rows == sorted(rows) == table_rows(table)
    assert path.read_text().splitlines()[1:3] == (
        ["0,1,0", "0,2,0"] if op == "div" else ["0,0,0", "0,1,1"]
    )
    assert os.listdir(tmp_path) == ["table.csv"]


def test_csv_sorts_a_table_given_out_of_order(tmp_path):
    table = make_table("sub", 5)
    order = torch.randperm(25, generator=torch.Generator().manual_seed(0))
    shuffled = Table("sub", 5, table.x[order], table.y[order], table.targets[order], n_classes=5)
    write_table_csv(shuffled, tmp_path / "t.csv")
    assert read_csv(tmp_path / "t.csv")[1] == table_rows(table)


def test_missing_directory_raises_groklab_error_naming_it_and_writes_nothing(tmp_path):
    missing = tmp_path / "no_such_dir"
    with pytest.raises(GroklabError) as info:
        write_table_csv(make_table("add", 5), missing / "table.csv")
    assert str(missing) in str(info.value) and "\n" not in str(info.value)
    assert not missing.exists() and os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    path.write_text("old\n")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_table_csv(make_table("add", 5), path)
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["table.csv"]
