"""A full disk under --store (a checkpoint) or under --out (the curves CSV, the figure) is one
line naming the file, exit 2, and leaves no half-written file (issue 14 item 5). The disk is
made full by a file whose writes fail with ENOSPC, for the temp files of one kind only."""

import errno
import os

import pytest

import groklab.files

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]


class FullDisk:
    """An open file on a disk with room for 100 bytes: the write that would pass them fails."""

    def __init__(self, f) -> None:
        self._f, self._room = f, 100

    def write(self, data):
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.fixture
def full_disk_for(monkeypatch):
    """full_disk_for(".pt"): writes to temp files of targets with that suffix fail (ENOSPC)."""

    def install(suffix: str) -> None:
        temps: dict[int, str] = {}
        create, fdopen = groklab.files._create_beside, os.fdopen

        def create_beside(path):
            tmp, fd = create(path)
            temps[fd] = path.suffix
            return tmp, fd

        def open_fd(fd, *args, **kwargs):
            f = fdopen(fd, *args, **kwargs)
            return FullDisk(f) if temps.pop(fd, None) == suffix else f

        monkeypatch.setattr(groklab.files, "_create_beside", create_beside)
        monkeypatch.setattr(os, "fdopen", open_fd)

    return install


def ends_in_one_line(err: str) -> bool:
    """After training (the progress bar is on stderr too): the last line is the one error."""
    last = err.rstrip("\n").rsplit("\n", 1)[-1]
    return (
        last.startswith("groklab: error: ") and err.count("error:") == 1 and "Traceback" not in err
    )


def test_a_full_disk_under_the_store_is_one_line_naming_the_checkpoint(
    run_cli, tmp_path, full_disk_for
):
    full_disk_for(".pt")
    status, out, err = run_cli(["train", *TINY, "--store", str(tmp_path / "s")])
    run_id = out.split()[1].rstrip(":")
    checkpoint = tmp_path / "s" / "checkpoints" / f"{run_id}.pt"
    assert status == 2 and ends_in_one_line(err), err
    assert f"cannot write '{checkpoint}': No space left on device" in err, err
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or p.suffix == ".pt"]


@pytest.mark.parametrize("suffix", [".csv", ".png"])
def test_a_full_disk_under_out_is_one_line_naming_the_file(
    run_cli, tmp_path, full_disk_for, suffix
):
    full_disk_for(suffix)
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    status, out, err = run_cli(argv)
    run_id = out.split()[1].rstrip(":")
    target = tmp_path / "o" / f"{run_id}{suffix}"
    assert status == 2 and ends_in_one_line(err), err
    assert f"cannot write '{target}': No space left on device" in err, err
    assert not target.exists() and not list((tmp_path / "o").glob(".*.tmp"))
