"""`groklab train` and `runs` as a user meets them: Ctrl-C, the step shown, the help pages."""

import re
import sys

import pytest

import groklab.train.loop as loop
from groklab.store import RunStore

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "40", "--seeds", "0-1"]


def interrupt_at(monkeypatch, at: int) -> None:
    """Ctrl-C as the loop sees it: a KeyboardInterrupt in the step that would reach `at`."""
    step = loop.train_step

    def interrupted_step(state, *args):
        if state.step + 1 == at:
            raise KeyboardInterrupt
        return step(state, *args)

    monkeypatch.setattr(loop, "train_step", interrupted_step)


def test_ctrl_c_writes_the_outputs_says_each_members_state_and_the_command_as_typed(
    run_cli, tmp_path, monkeypatch
):
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", [".venv/bin/groklab", *argv])
    interrupt_at(monkeypatch, 13)
    status, out, err = run_cli(argv)
    assert status == 130, err
    run_id = re.search(r"^run (r-[0-9a-f]{10})", out, re.M).group(1)
    assert "interrupted at step 12; saved." in out
    for i in range(2):
        assert re.search(rf"^  {run_id}/{i}: step 12, best val \d\.\d{{3}}$", out, re.M)
    assert (tmp_path / "out" / f"{run_id}.csv").read_text().count("\n") > 2
    assert (tmp_path / "out" / f"{run_id}.png").stat().st_size > 0
    assert "  .venv/bin/groklab train --op add --p 7" in out


def test_out_of_train_is_created_with_its_parents(run_cli, tmp_path):
    out = tmp_path / "results" / "today"
    status, _, err = run_cli(["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(out)])
    assert status == 0, err
    assert len(list(out.glob("r-*.csv"))) == 1 and len(list(out.glob("r-*.png"))) == 1


def test_runs_shows_the_last_evaluated_step_and_the_checkpoint_step_when_they_differ(
    run_cli, tmp_path
):
    store = tmp_path / "s"
    status, out, err = run_cli(["train", *TINY, "--store", str(store)])
    assert status == 0, err
    run_id = re.search(r"^run (r-[0-9a-f]{10})", out, re.M).group(1)
    status, listed, _ = run_cli(["runs", "--store", str(store)])
    assert re.search(rf"^{run_id}\s+done\s+2\s+40\s", listed, re.M)
    with RunStore(store) as s, s.run_lock(run_id):  # as while a trainer holds it, running:
        s.set_status(run_id, "running", 20)  # evaluated to 40, last checkpoint at 20
        status, listed, _ = run_cli(["runs", "--store", str(store)])
    assert re.search(rf"^{run_id}\s+running\s+2\s+40 \(ckpt 20\)\s", listed, re.M)


def test_the_stop_rule_line_ends_a_run_that_stopped_early(run_cli, tmp_path):
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--stop-at-val-acc", "0.01"]
    status, _, err = run_cli(argv)
    assert status == 0, err
    assert re.search(r"stopped at step \d+: every member held val_acc >= 0.01", err)


@pytest.mark.parametrize(
    "command", ["train", "runs", "curves", "plot", "sweep", "reproduce", "export", "ops", "data"]
)
def test_each_command_help_ends_with_an_example_of_it(run_cli, command):
    status, out, _ = run_cli([command, "--help"])
    assert status == 0
    assert re.search(rf"example:\n  groklab {command}\b", out)


def test_top_level_help_says_what_to_run_first_and_where_runs_go(run_cli):
    status, out, _ = run_cli(["--help"])
    assert status == 0
    assert "start here" in out and "groklab train --op div --p 97" in out
    assert "./groklab-runs (in the current directory" in out


@pytest.mark.parametrize(
    ("command", "kind"),
    [("train", "directory"), ("reproduce", "directory"), ("curves", "file"), ("plot", "file")]
    + [("sweep", "file"), ("export", "file")],
)
def test_each_out_help_says_whether_it_is_a_file_or_a_directory(run_cli, command, kind):
    _, out, _ = run_cli([command, "--help"])
    text = " ".join(out.split("\n  --out ", 1)[1].split("\n  --", 1)[0].split())
    assert f"output {kind}" in text
