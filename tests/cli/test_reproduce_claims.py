"""`groklab reproduce` and claims (issue 22 part 1): claims.md/.csv and a caption on each
figure, `--check` exits 1 when a claim fails, `--all` scores every experiment on
SCOREBOARD.md/.csv, and bad combinations are one line, exit 2, nothing created."""

import csv

import matplotlib.image as mpimg
import numpy as np
import pytest

import groklab.experiments as experiments_module
from groklab.errors import GroklabError
from groklab.experiments import ExperimentContext, ExperimentResult
from groklab.experiments.base import Experiment
from groklab.experiments.claims import Claim
from groklab.experiments.scoreboard import SCOREBOARD_HEADER
from groklab.plots.style import build_figure, save_figure


def claim(rule: str) -> Claim:
    return Claim("x is in range", paper="p", quantity="x", value=lambda n: n["x"], rule=rule)


def fake_experiment(x: float, name: str = "fake") -> Experiment:
    def run(ctx: ExperimentContext) -> ExperimentResult:
        fig = build_figure(1, figsize=(4, 3))
        fig.axes[0].plot([0, 1], [0, 1])
        png = ctx.out_dir / "fig.png"
        save_figure(fig, png)
        return ExperimentResult([png], "| t |\n", "", {"x": x})

    claims = (claim(">= 1"), claim("<= 10"))
    return Experiment(name, "Fake et al., Fig. 1", "a fake", run, claims=claims)


def test_reproduce_checks_claims_writes_them_and_captions_each_figure(tmp_path):
    (tmp_path / "out").mkdir()
    ctx = ExperimentContext(size="quick", out_dir=tmp_path / "out", store_root=tmp_path / "s")
    experiment = fake_experiment(x=20.0)
    plain = mpimg.imread(experiment.run(ctx).paths[0])
    result = experiment.reproduce(ctx)
    assert [c.holds for c in result.claims] == [True, False]
    assert {p.name for p in result.paths} == {"fig.png", "claims.md", "claims.csv"}
    captioned = mpimg.imread(tmp_path / "out" / "fig.png")
    assert captioned.shape[0] == plain.shape[0] + 36 and captioned.shape[1] == plain.shape[1]
    assert np.array_equal(captioned[: plain.shape[0]], plain)  # the figure's pixels kept
    micro = experiment.reproduce(ExperimentContext(size="micro", out_dir=tmp_path / "out",
                                                   store_root=tmp_path / "s"))  # fmt: skip
    assert micro.claims == [] and {p.name for p in micro.paths} == {"fig.png"}


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """Two fake experiments in the registry: one whose claims hold (x = 5), one that fails
    one (x = 20); and one that cannot run here (a missing extra)."""

    def cannot(ctx):
        raise GroklabError("needs the molecules extra")

    registry = {
        "a-holds": fake_experiment(5.0, "a-holds"),
        "b-fails": fake_experiment(20.0, "b-fails"),
        "c-extra": Experiment("c-extra", "Fig. C", "", cannot, claims=(claim(">= 1"),)),
    }
    monkeypatch.setattr(experiments_module.base, "EXPERIMENTS", registry)
    monkeypatch.setattr(experiments_module.base, "load_all", lambda: registry)
    monkeypatch.setattr(experiments_module, "load_all", lambda: registry)
    return registry


def reproduce(run_cli, tmp_path, *argv):
    return run_cli(["reproduce", *argv, "--out", str(tmp_path / "o"), "--store",
                    str(tmp_path / "s")])  # fmt: skip


def test_check_exits_1_when_a_claim_fails_and_0_when_all_hold(run_cli, tmp_path, fakes):
    status, out, err = reproduce(run_cli, tmp_path, "a-holds", "--check")
    assert status == 0, err
    assert "claims: 2 of 2 claims held" in out
    status, out, err = reproduce(run_cli, tmp_path, "b-fails", "--check")
    assert status == 1, err
    assert "claims: 1 of 2 claims held" in out
    status, _, err = reproduce(run_cli, tmp_path, "b-fails")  # without --check: it reports
    assert status == 0, err


def test_check_at_a_size_without_claims_and_all_with_a_name_are_one_line_errors(
    run_cli, tmp_path, fakes
):
    for argv, words in ((["a-holds", "--check", "--micro"], "checks no claim at the --micro"),
                        (["a-holds", "--all"], "drop the name 'a-holds'")):  # fmt: skip
        status, _, err = reproduce(run_cli, tmp_path, *argv)
        assert status == 2 and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def test_all_scores_every_experiment_on_the_scoreboard(run_cli, tmp_path, fakes):
    status, out, err = reproduce(run_cli, tmp_path, "--all", "--check")
    assert status == 1, err  # b-fails fails a claim and c-extra could not run
    with (tmp_path / "o" / "SCOREBOARD.csv").open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == SCOREBOARD_HEADER
    table = {r[0]: (r[2], r[3], r[4], r[7]) for r in rows[1:]}
    assert table == {
        "a-holds": ("quick", "2", "2", "ran"),
        "b-fails": ("quick", "1", "2", "ran"),
        "c-extra": ("quick", "0", "1", "did not run: needs the molecules extra"),
    }
    md = (tmp_path / "o" / "SCOREBOARD.md").read_text()
    assert "3 of 5 claims held over 3 experiments" in md and "cores" in md
    failed = md.split("## Claims that did not hold\n\n")[1].splitlines()[2:]
    assert failed == [
        "| b-fails | x is in range | x: 20 | <= 10 | the quick size may be too small to show it |"
    ]
    assert (tmp_path / "o" / "a-holds" / "claims.csv").exists()


def test_ctrl_c_in_all_stops_the_scoreboard_and_says_how_to_resume(
    run_cli, tmp_path, fakes, monkeypatch
):
    import sys

    from groklab.train import TrainingInterrupted

    def interrupted(ctx):
        raise TrainingInterrupted("r-0123456789", 40)

    fakes["b-fails"] = Experiment("b-fails", "Fig. B", "", interrupted, claims=(claim(">= 1"),))
    argv = ["reproduce", "--all", "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")]
    monkeypatch.setattr(sys, "argv", ["groklab", *argv])
    status, out, _ = run_cli(argv)
    assert status == 130
    assert "a-holds" in out and "c-extra" not in out  # stopped before the third
    assert not (tmp_path / "o" / "SCOREBOARD.md").exists()
