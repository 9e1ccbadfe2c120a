"""Tests for src/groklab/files.py: atomic writes, and every kind of output file getting the mode
the umask gives a normal file (0o644 under umask 022), not mkstemp's 0o600."""

import contextlib
import io
import os
import stat
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.config import save_spec
from groklab.errors import GroklabError
from groklab.files import write_atomic, write_bytes_atomic, write_text_atomic
from groklab.spec import RunSpec

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]


@pytest.fixture
def umask():
    """umask(mask) sets the process umask for this test; the old one comes back after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_main(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_write_atomic_gives_the_mode_a_normal_open_gives(tmp_path, umask, mask, expected):
    umask(mask)
    write_text_atomic(tmp_path / "a.md", "# hi\n")
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    assert mode(tmp_path / "a.md") == mode(tmp_path / "b.bin") == expected
    assert mode(tmp_path / "plain.txt") == expected


def test_write_atomic_replaces_an_existing_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.csv"
    write_text_atomic(path, "old\n")
    write_atomic(path, lambda f: f.write("a,b\r\nc,d\n"))
    assert path.read_bytes() == b"a,b\r\nc,d\n"  # no newline translation (csv writes \r\n)
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("binary", [False, True])
def test_a_failing_write_leaves_the_old_file_intact_and_no_temp_file(tmp_path, error, binary):
    path = tmp_path / "out.dat"
    path.write_text("old")

    def explode(f):
        f.write(b"half" if binary else "half")
        raise error("boom")

    with pytest.raises(error):
        write_atomic(path, explode, binary=binary)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.dat"]


def test_writing_into_a_missing_directory_names_it_and_creates_nothing(tmp_path):
    with pytest.raises(GroklabError, match=f"directory {tmp_path / 'nope'} does not exist"):
        write_text_atomic(tmp_path / "nope" / "a.md", "x")
    assert list(tmp_path.iterdir()) == []


def test_writing_over_a_directory_is_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(GroklabError, match="is a directory"):
        write_text_atomic(tmp_path / "d", "x")


# -- every kind of output -------------------------------------------------------------------


def outputs_of_every_kind(root: Path) -> list[Path]:
    """Train (with --out), curves, plot, data export and table, save_spec and a micro
    reproduction into `root`; every file they wrote besides the SQLite store."""
    store, out = root / "store", root / "out"
    out.mkdir(parents=True)
    argv = ["train", *TINY, "--seeds", "0-1", "--store", str(store)]
    assert run_main([*argv, "--out", str(out)]) == 0
    run_id = next(out.glob("*.csv")).stem
    assert run_main(["curves", run_id, "--store", str(store), "--out", str(out / "c.csv")]) == 0
    assert run_main(["plot", run_id, "--store", str(store), "--out", str(out / "p.png")]) == 0
    assert run_main(["data", "export", "add", "--p", "5", "--out", str(out / "t.csv")]) == 0
    argv = ["data", "table", "add", "--p", "5", "--train-fraction", "0.5", "--out"]
    assert run_main([*argv, str(out / "t.png")]) == 0
    save_spec(RunSpec(), out / "spec.toml")
    argv = ["reproduce", "power2022-curves", "--micro", "--store", str(store)]
    assert run_main([*argv, "--out", str(root / "results")]) == 0
    return sorted(p for p in root.rglob("*") if p.is_file() and "sqlite" not in p.name)


def test_every_output_kind_is_0644_under_umask_022_and_0600_under_077(tmp_path, umask):
    for mask, expected in [(0o022, 0o644), (0o077, 0o600)]:
        umask(mask)
        files = outputs_of_every_kind(tmp_path / oct(mask))
        suffixes = {p.suffix for p in files}
        assert {".csv", ".png", ".md", ".toml", ".pt"} <= suffixes, suffixes
        assert {str(p): oct(mode(p)) for p in files} == {str(p): oct(expected) for p in files}
