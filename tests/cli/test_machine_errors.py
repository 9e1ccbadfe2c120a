"""What the machine refuses is one line, exit 2, nothing written: a path where a directory
must be made, a read-only directory or store (skipped as root, where chmod does not bind), any
OSError or SQLite error at the CLI boundary, and a population too big for the memory."""

import os
import sqlite3
import stat

import pytest

import groklab.cli.train as cli_train
from groklab.cli.main import main

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]
SWEEP = (
    '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
    "d_mlp = 32\n[train]\nsteps = 10\neval_every = 5\n[grid]\nseed = [0, 1]\n"
)
as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("groklab: error: ") and "Traceback" not in err


def ends_in_one_line(err: str) -> bool:
    """After training (the progress bar is on stderr too): the last line is the one error."""
    last = err.rstrip("\n").rsplit("\n", 1)[-1]
    return (
        last.startswith("groklab: error: ") and err.count("error:") == 1 and "Traceback" not in err
    )


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


def test_store_under_a_file_is_one_line_naming_it(run_cli, tmp_path, a_file):
    store = a_file / "store"
    status, _, err = run_cli(["train", *TINY, "--store", str(store)])
    assert status == 2 and one_line(err) and str(store) in err, err
    assert a_file.read_text() == "not a directory\n"


def test_sweep_store_under_a_file_is_one_line_and_writes_nothing(run_cli, tmp_path, a_file):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    argv = ["sweep", str(sweep), "--store", str(a_file / "s"), "--out", str(tmp_path / "o.csv")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and str(a_file / "s") in err, err
    assert not (tmp_path / "o.csv").exists()


def test_reproduce_out_that_is_a_file_is_one_line_and_makes_no_store(run_cli, tmp_path, a_file):
    argv = ["reproduce", "power2022-fraction", "--micro", "--out", str(a_file)]
    status, _, err = run_cli([*argv, "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and str(a_file) in err, err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(13, "Permission denied", "/results/run.csv"),
        IsADirectoryError(21, "Is a directory", "/results/run.csv"),
        OSError(28, "No space left on device", "/results/run.csv"),
    ],
    ids=["permission", "is-a-directory", "disk-full"],
)
def test_an_os_error_anywhere_in_a_command_is_one_line_naming_the_path(
    run_cli, tmp_path, monkeypatch, error
):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(cli_train, "_write_outputs", failing)
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    status, _, err = run_cli(argv)
    assert status == 2 and ends_in_one_line(err), err
    assert "'/results/run.csv'" in err and error.strerror in err


def test_a_sqlite_error_is_one_line_that_suggests_a_read_only_store(run_cli, tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(cli_train, "_write_outputs", failing)
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    status, _, err = run_cli(argv)
    assert (
        status == 2 and ends_in_one_line(err) and "readonly database" in err and "read-only" in err
    )


def test_a_population_too_big_for_the_memory_is_refused_before_anything_is_made(
    run_cli, tmp_path, monkeypatch
):
    import groklab.train.memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda device: 1000)  # 1 kB free
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err), err
    assert "needs about" in err and "1.0 kB available" in err
    assert not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


def test_the_issues_huge_transformer_is_refused_with_its_estimate(run_cli, tmp_path):
    argv = ["train", "--op", "add", "--p", "97", "--d-model", "65536", "--n-layers", "64"]
    status, _, err = run_cli([*argv, "--n-heads", "4", "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "1,103,836,217,344 parameters" in err, err
    assert not (tmp_path / "s").exists()


@as_root
def test_store_in_a_read_only_directory_is_one_line(run_cli, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        status, _, err = run_cli(["train", *TINY, "--store", str(parent / "s")])
    finally:
        parent.chmod(stat.S_IRWXU)
    assert status == 2 and one_line(err) and str(parent / "s") in err, err


@as_root
def test_out_in_a_read_only_directory_is_one_line_before_training(run_cli, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(parent / "o")]
        status, _, err = run_cli(argv)
    finally:
        parent.chmod(stat.S_IRWXU)
    assert status == 2 and one_line(err) and str(parent / "o") in err, err
    assert not list((tmp_path / "s" / "checkpoints").glob("*.pt"))  # nothing trained


@as_root
def test_a_read_only_store_is_one_line(run_cli, tmp_path):
    store = tmp_path / "s"
    status, _, err = run_cli(["train", *TINY, "--store", str(store)])
    assert status == 0, err
    paths = [store, *store.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        status, _, err = run_cli(["train", *TINY, "--seeds", "3", "--store", str(store)])
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)
    assert status == 2 and one_line(err), err


def test_main_boundary_turns_memory_error_into_one_line(monkeypatch, capsys):
    import groklab.data

    def failing(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(groklab.data, "make_table", failing)
    assert main(["ops"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "out of memory" in err
