"""Tests for src/groklab/cli/bench.py: `groklab bench` end to end at micro size, its listing,
and bad input refused in one line, exit 2, before anything is trained or written."""

import pytest

from groklab.bench import METHODS, Method


def test_list_names_every_task_and_method(run_cli):
    status, out, _ = run_cli(["bench", "--list"])
    assert status == 0
    for name in ("nanda-add", "power-div", "s5", "prieto-add", "adamw", "egd", "muon"):
        assert f"  {name} " in out
    assert "CPU core-hours" in out and "shrunk:" in out


def test_a_micro_bench_writes_its_table_csv_and_figure(run_cli, tmp_path):
    argv = ["bench", "--micro", "--tasks", "prieto-add", "--methods", "adamw,orthograd",
            "--out", str(tmp_path / "out"), "--store", str(tmp_path / "store")]  # fmt: skip
    status, out, err = run_cli(argv)
    assert status == 0, err
    assert "## prieto-add" in out and "orthograd" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "bench.md", "bench.csv", "bench.png", "bench-times.json"
    }  # fmt: skip
    assert (
        "Command: `groklab bench --micro --tasks prieto-add"
        in (tmp_path / "out/bench.md").read_text()
    )


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--tasks", "nope"], "task 'nope' is unknown; allowed: nanda-add"),
        (["--methods", "adamw,nope"], "method 'nope' is unknown; allowed: adamw"),
        (["--seeds", "0"], "seeds=0 must be an integer >= 1"),
        (["--methods", "adamw,,egd"], "has an empty name"),
        (["--backend", "slurm"], "backend 'slurm' is unknown; choose one of local, ray"),
        (["--workers", "0"], "--workers 0 is not allowed"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(run_cli, tmp_path, flags, says):
    argv = ["bench", "--micro", "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s")]
    status, _, err = run_cli(argv + flags)
    assert status == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_method_that_does_not_apply_to_a_task_is_refused_before_training(
    run_cli, tmp_path, monkeypatch
):
    monkeypatch.setitem(METHODS, "mlp-only", Method("mlp-only", "x", "c", "s", archs=("mlp",)))
    argv = ["bench", "--micro", "--tasks", "prieto-add,nanda-add", "--methods", "adamw,mlp-only",
            "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s")]  # fmt: skip
    status, _, err = run_cli(argv)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert (
        "'mlp-only' applies to mlp models; task 'nanda-add' at the micro size trains a transformer"
        in err
    )
    assert list(tmp_path.iterdir()) == []


def test_out_is_required(run_cli, tmp_path):
    status, _, err = run_cli(["bench", "--micro"])
    assert status == 2 and "--out DIR is required" in err
