"""Tests for src/groklab/cli/sweep.py: `groklab sweep FILE.toml` through its own subparser."""

import argparse
import csv

import pytest

from groklab.cli.sweep import add_sweep_command
from groklab.errors import GroklabError, SpecError

SWEEP_TOML = """
[data]
op = "add"
p = 7
[model]
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32
[train]
steps = 20
eval_every = 10
[grid]
train_fraction = [0.4, 0.6]
seed = [0, 1]
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="groklab")
    add_sweep_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["sweep", *argv])


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "micro.toml"
    path.write_text(SWEEP_TOML)
    return path


def test_sweep_command_writes_one_csv_row_per_point_and_a_line_per_population(
    tmp_path, sweep_file, capsys
):
    out = tmp_path / "rows.csv"
    args = parse(str(sweep_file), "--store", str(tmp_path / "store"), "--out", str(out))
    assert args.func(args) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["train_fraction"], r["seed"]) for r in rows] == [
        ("0.4", "0"),
        ("0.4", "1"),
        ("0.6", "0"),
        ("0.6", "1"),
    ]
    assert {"run_id", "member", "steps_to_val", "final_val_acc"} <= set(rows[0])
    stdout = capsys.readouterr().out
    assert "4 points in 1 populations (0 already done)" in stdout
    assert f"{rows[0]['run_id']} 4 members add p=7" in stdout and ": trained to step 20" in stdout
    assert f"wrote 4 rows to {out}" in stdout


def test_sweep_command_run_again_reuses_and_defaults_the_csv_beside_the_file(
    tmp_path, sweep_file, capsys
):
    args = parse(str(sweep_file), "--store", str(tmp_path / "store"), "--device", "cpu")
    assert args.func(args) == 0
    first = sweep_file.with_suffix(".csv").read_text()
    assert args.func(args) == 0
    stdout = capsys.readouterr().out
    assert "(1 already done)" in stdout and ": reused to step 20" in stdout
    assert sweep_file.with_suffix(".csv").read_text() == first


def test_unknown_backend_is_a_one_line_error_listing_the_choices(tmp_path, sweep_file):
    args = parse(str(sweep_file), "--store", str(tmp_path / "store"), "--backend", "ray2")
    expected = r"^backend 'ray2' is unknown; choose one of local, ray$"
    with pytest.raises(GroklabError, match=expected):
        args.func(args)
    assert not (tmp_path / "store").exists()


def test_bad_sweep_file_is_an_error_before_anything_trains(tmp_path, sweep_file):
    sweep_file.write_text(SWEEP_TOML.replace("[grid]", "[grid]\nspeed = [1]"))
    args = parse(str(sweep_file), "--store", str(tmp_path / "store"))
    with pytest.raises(SpecError, match="unknown grid field 'speed'"):
        args.func(args)
    missing = parse(str(tmp_path / "nope.toml"), "--store", str(tmp_path / "store"))
    with pytest.raises(GroklabError, match="cannot read sweep file"):
        missing.func(missing)
    assert not (tmp_path / "store").exists()
