"""Tests for src/groklab/experiments/omnigrok_qm9.py (Omnigrok Fig. 5). The micro run needs the
extra groklab[molecules] and is skipped without it; the missing-extra error is tested always."""

import csv
import importlib.util

import pytest

from groklab.cli import main
from groklab.experiments.omnigrok_qm9 import (
    RUNS,
    SIZES,
    paper_landscape_steps,
    paper_sizes,
    run_spec,
)
from groklab.spec import PRESETS


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    pytest.importorskip("rdkit")
    if importlib.util.find_spec("qm9pack") is None:
        pytest.skip("qm9pack is not installed (extra groklab[molecules])")
    return run_micro_twice("omnigrok-qm9")


def test_reproduce_without_the_extra_ends_with_one_line_naming_it(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "rdkit" else real(n, *a)
    )
    argv = ["reproduce", "omnigrok-qm9", "--micro", "--out", str(tmp_path / "out"),
            "--store", str(tmp_path / "store")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'groklab[molecules]'" in err
    assert not (tmp_path / "store").exists()  # nothing trained, nothing stored


def test_paper_runs_are_the_notebooks_setup():
    for run in RUNS:
        spec = run_spec(SIZES["paper"], run)
        m = spec.members[0]
        assert spec.data.dataset == "qm9" and spec.data.n_examples == 100
        assert spec.model == PRESETS["omnigrok_qm9"] and spec.train.loss == "mse"
        assert (spec.train.batch_size, spec.train.steps) == (32, 100_000)
        assert (spec.optim.optimizer, spec.optim.beta2, spec.optim.warmup_steps) == (
            "adamw",
            0.999,
            0,
        )
        assert (m.lr, m.weight_decay, m.train_fraction) == (1e-3, 0.0, 0.5)
    assert [r.init_scale for r in RUNS] == [3.0, 1.0]


def test_paper_landscape_grid_and_budget_follow_the_notebook():
    sizes = paper_sizes()
    assert len(sizes) == 22 and sizes[:3] == [10, 12, 18] and sizes[-1] == 10_000
    assert all(n % 2 == 0 for n in sizes)
    # int(1e5 / N) epochs of ceil(N/2 / 32) batches
    assert paper_landscape_steps(100) == 1000 * 2 and paper_landscape_steps(10) == 10_000
    assert paper_landscape_steps(10_000) == 10 * 157
    assert len(SIZES["paper"].alphas) == 21


def test_quick_says_what_it_shrank():
    from groklab.experiments.common import shrunk_text
    from groklab.experiments.omnigrok_qm9 import NOTES

    text = shrunk_text(SIZES["quick"], SIZES["paper"], NOTES)
    assert "budget 5,000 steps (paper 100,000)" in text and "5 init scales x 3 N" in text
    assert shrunk_text(SIZES["paper"], SIZES["paper"], NOTES) == ""


def test_micro_writes_curves_landscape_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "qm9.md",
        "qm9_curves.png",
        "qm9_curves_alpha1.csv",
        "qm9_curves_alpha3.csv",
        "qm9_curves_summary.csv",
        "qm9_landscape.csv",
        "qm9_landscape.png",
    ]
    assert micro.is_png("qm9_curves.png") and micro.is_png("qm9_landscape.png")
    cells = list(csv.DictReader(micro.path("qm9_landscape.csv").open()))
    assert len(cells) == 2 * 2 and {float(c["init_scale"]) for c in cells} == {0.5, 2.0}
    text = micro.path("qm9.md").read_text()
    assert "Shrunk from the paper:" in text and "| alpha3 |" in text and "| alpha1 |" in text


def test_micro_numbers_are_finite_losses_and_the_init_scale_multiplies_the_norm(micro):
    numbers = micro.first.numbers
    a3, a1 = numbers["alpha3"], numbers["alpha1"]
    assert a3["steps_done"] == 20 and a1["best_val_loss"] > 0
    # same seed, every parameter times 3
    assert a3["initial_weight_norm"] == pytest.approx(3 * a1["initial_weight_norm"], rel=1e-5)
    assert set(numbers["landscape"]) == {6, 10}


def test_micro_both_runs_share_one_population_and_rerun_trains_nothing(micro):
    rows = list(csv.DictReader(micro.path("qm9_curves_summary.csv").open()))
    assert len({r["run_id"] for r in rows}) == 1 and [r["member"] for r in rows] == ["0", "1"]
    assert micro.trained_all == micro.trained_first
    assert micro.second.table == micro.first.table
