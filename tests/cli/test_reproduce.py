"""Tests for src/groklab/cli/reproduce.py: `groklab reproduce`."""

import contextlib
import io

import pytest
import torch

from groklab.cli import main
from groklab.experiments import base
from groklab.experiments.base import Experiment, ExperimentResult

OMNIGROK = {
    "omnigrok-teacher-student",
    "omnigrok-mnist",
    "omnigrok-imdb",
    "omnigrok-qm9",
    "omnigrok-modadd",
    "omnigrok-toy",
    "omnigrok-mnist-repr",
}
POWER = {
    "power2022-curves",
    "power2022-fraction",
    "power2022-table",
    "power2022-ops",
    "power2022-interventions",
    "power2022-embeddings",
}
NANDA = {"nanda2023-progress"}
METHODS = {"grokfast2024", "prieto2025"}  # issue 12
LIU2022 = {"liu2022-phases"}  # Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()


def test_list_names_every_figure_of_the_papers():
    status, out, _ = run_main(["reproduce", "--list"])
    assert status == 0
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert names == POWER | OMNIGROK | NANDA | METHODS | LIU2022


def test_unknown_experiment_and_bad_threads_end_in_one_line_with_status_2(tmp_path):
    status, _, err = run_main(["reproduce", "nope", "--out", str(tmp_path)])
    assert status == 2 and "'nope' is unknown" in err and len(err.strip().splitlines()) == 1
    argv = ["reproduce", "power2022-table", "--threads", "zero", "--out", str(tmp_path)]
    status, _, err = run_main(argv)
    assert status == 2 and "--threads=zero" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def recorder(monkeypatch):
    """A registered experiment that records the context it was run with."""
    seen = []

    def run(ctx):
        seen.append(ctx)
        return ExperimentResult(paths=[], table="| a |\n|---|\n")

    base.load_all()
    monkeypatch.setitem(
        base.EXPERIMENTS, "recorder", Experiment("recorder", "-", "-", run, reads_source=("micro",))
    )
    return seen


def test_source_threads_and_size_reach_the_experiment(recorder, tmp_path):
    before = torch.get_num_threads()
    source = tmp_path / "reviews.csv"
    source.write_text("review,sentiment\n")
    try:
        argv = ["reproduce", "recorder", "--micro", "--source", str(source), "--threads", "1"]
        status, out, err = run_main([*argv, "--out", str(tmp_path), "--store", str(tmp_path / "s")])
        assert status == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    (ctx,) = recorder
    assert (ctx.size, ctx.source, ctx.out_dir) == ("micro", str(source), tmp_path / "recorder")
    assert "| a |" in out


def test_ctrl_c_in_reproduce_says_where_it_stopped_and_how_to_resume(
    run_cli, tmp_path, monkeypatch
):
    import sys

    import groklab.experiments as experiments
    from groklab.train import TrainingInterrupted

    def run(ctx):
        raise TrainingInterrupted("r-0123456789", 40)

    fake = experiments.Experiment("power2022-fraction", "Fig. 1 center", "", run)
    monkeypatch.setattr(experiments, "get_experiment", lambda name: fake)
    argv = ["reproduce", "power2022-fraction", "--out", str(tmp_path / "o")]
    argv += ["--store", str(tmp_path / "s")]
    monkeypatch.setattr(sys, "argv", ["groklab", *argv])
    status, out, err = run_cli(argv)
    assert status == 130, err
    assert "interrupted at step 40; run r-0123456789 saved. Resume with:" in out
    assert "  groklab reproduce power2022-fraction --out" in out
