"""Checkpoints are bound to their run: one of another spec (same shape or not, finished or
not), one from before the binding, or one of another format is refused in one line naming the
file, the id found and the id expected, exit 2, and the store is left as it was."""

import shutil
import sqlite3

import pytest
import torch

import groklab
from groklab.cli.main import build_parser
from groklab.cli.spec_flags import spec_from_args
from groklab.errors import GroklabError
from groklab.store import CHECKPOINT_FORMAT, RunStore

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "20"]
A = [*TINY, "--seeds", "0-1"]
SAME_SHAPE = [*TINY, "--seeds", "0-1", "--lr", "0.003"]  # another spec, same [M, P]
OTHER_SHAPE = [*TINY, "--seeds", "0"]  # one member


def run_id(flags: list[str]) -> str:
    return spec_from_args(build_parser().parse_args(["train", *flags])).run_id


def rows(store) -> list:
    conn = sqlite3.connect(store / "runs.sqlite")
    found = [list(conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")) for t in ("runs", "members")]
    found.append(list(conn.execute("SELECT count(*) FROM measures")))
    conn.close()
    return found


@pytest.fixture
def trained(run_cli, tmp_path):
    """A store holding run A, done, with its checkpoint."""
    store = tmp_path / "s"
    status, _, err = run_cli(["train", *A, "--keep-checkpoints", "every:10", "--store", str(store)])
    assert status == 0, err
    return store


@pytest.mark.parametrize("flags", [SAME_SHAPE, OTHER_SHAPE], ids=["same-shape", "other-shape"])
def test_a_foreign_checkpoint_copied_in_place_is_refused_naming_file_and_both_ids(
    run_cli, trained, flags
):
    a, b = run_id(A), run_id(flags)
    target = trained / "checkpoints" / f"{b}.pt"
    shutil.copy(trained / "checkpoints" / f"{a}.pt", target)  # finished: A is done
    before = rows(trained)
    status, _, err = run_cli(["train", *flags, "--store", str(trained)])
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(target) in err and repr(a) in err and b in err
    assert rows(trained) == before  # no "created" row, no metrics, no status change


def test_a_checkpoint_from_before_the_binding_is_refused_with_what_to_do(run_cli, trained):
    a = run_id(A)
    path = trained / "checkpoints" / f"{a}.pt"
    saved = torch.load(path, weights_only=True)
    del saved["run_id"], saved["format"]
    torch.save(saved, path)
    with RunStore(trained) as s:
        s.set_status(a, "interrupted", 20)
    before = rows(trained)
    status, _, err = run_cli(["train", *A, "--store", str(trained)])
    assert status == 2 and str(path) in err and "delete it" in err and a in err, err
    assert rows(trained) == before


def test_a_checkpoint_of_another_format_is_refused(run_cli, trained):
    a = run_id(A)
    path = trained / "checkpoints" / f"{a}.pt"
    saved = torch.load(path, weights_only=True)
    torch.save({**saved, "format": CHECKPOINT_FORMAT + 1}, path)
    status, _, err = run_cli(["train", *A, "--store", str(trained)])
    assert status == 2 and str(path) in err and f"format {CHECKPOINT_FORMAT + 1}" in err, err


def test_groklab_load_refuses_a_foreign_resume_point_and_a_foreign_kept_checkpoint(
    run_cli, trained
):
    a, b = run_id(A), run_id(SAME_SHAPE)
    status, _, err = run_cli(["train", *SAME_SHAPE, "--store", str(trained)])
    assert status == 0, err
    groklab.load(b, member=1, store=trained)  # its own checkpoint loads
    shutil.copy(trained / "checkpoints" / f"{a}.pt", trained / "checkpoints" / f"{b}.pt")
    with pytest.raises(GroklabError, match=rf"{b}\.pt is of run '{a}'; expected run {b}"):
        groklab.load(b, member=1, store=trained)
    kept = trained / "checkpoints" / a / "step-000000010.pt"
    shutil.copytree(trained / "checkpoints" / a, trained / "checkpoints" / b, dirs_exist_ok=True)
    with pytest.raises(GroklabError, match=rf"step-000000010\.pt is of run '{a}'"):
        groklab.load(b, member=0, step=10, store=trained)
    assert groklab.load(a, member=0, step=10, store=trained)[1].step == 10
    assert kept.exists()


def test_sweep_refuses_a_foreign_resume_point_naming_the_real_file(run_cli, trained, tmp_path):
    from groklab.sweep import expand, load_sweep, pack

    sweep_file = tmp_path / "micro.toml"
    sweep_file.write_text(
        '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
        "d_mlp = 32\n[train]\nsteps = 20\neval_every = 5\n[grid]\nseed = [0, 1]\n"
        "[members]\nlr = 0.002\n"
    )
    (population,) = pack(expand(load_sweep(sweep_file)))
    target = trained / "checkpoints" / f"{population.run_id}.pt"
    shutil.copy(trained / "checkpoints" / f"{run_id(A)}.pt", target)
    before = rows(trained)
    argv = ["sweep", str(sweep_file), "--store", str(trained), "--out", str(tmp_path / "o.csv")]
    status, _, err = run_cli(argv)
    assert status == 2 and err.count("\n") == 1 and str(target) in err, err
    assert rows(trained) == before
