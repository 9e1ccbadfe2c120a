"""Tests for src/groklab/experiments/nanda2023_progress.py (Nanda et al. 2023, Fig. 5-7)."""

import csv

import numpy as np
import pytest

import groklab
from groklab.experiments import ExperimentContext, get_experiment
from groklab.experiments.nanda2023_progress import SIZES, phase_steps, run_spec
from groklab.measures.fourier import restricted_excluded
from groklab.spec import PRESETS
from groklab.store import RunStore
from groklab.sweep import LocalBackend


class CountingBackend(LocalBackend):
    def __init__(self) -> None:
        super().__init__()
        self.trained: list[str] = []

    def run(self, specs, **kwargs):
        self.trained += [spec.run_id for spec in specs]
        return super().run(specs, **kwargs)


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    root = tmp_path_factory.mktemp("nanda")
    (root / "out").mkdir()
    backend = CountingBackend()
    ctx = ExperimentContext("micro", root / "out", root / "store", backend=backend)
    first = get_experiment("nanda2023-progress").run(ctx)
    trained = list(backend.trained)
    second = get_experiment("nanda2023-progress").run(ctx)
    return root, first, second, trained, backend.trained


def test_paper_size_is_nandas_setup():
    spec = run_spec(SIZES["paper"])
    assert (spec.data.op, spec.data.p, spec.data.layout) == ("add", 113, "x_y_eq")
    assert spec.model == PRESETS["nanda2023"]
    assert (spec.optim.optimizer, spec.optim.beta1, spec.optim.beta2) == ("adamw", 0.9, 0.98)
    member = spec.members[0]
    assert (member.train_fraction, member.lr, member.weight_decay) == (0.3, 1e-3, 1.0)
    assert spec.train.batch_size == "full"


def test_micro_writes_figure_csv_and_markdown_and_measures_every_kept_step(micro):
    root, first, _, _, _ = micro
    assert sorted(p.name for p in first.paths) == ["progress.csv", "progress.md", "progress.png"]
    assert (root / "out" / "progress.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader((root / "out" / "progress.csv").open()))
    assert [int(r["step"]) for r in rows] == [0, 10, 20, 30, 40]
    assert "Shrunk from the paper:" in (root / "out" / "progress.md").read_text()
    assert "p = 11 (paper 113)" in first.shrunk


def test_final_key_losses_equal_recomputing_them_from_the_kept_checkpoint(micro):
    root, first, _, _, _ = micro
    keys = first.numbers["key_frequencies"]
    rows = list(csv.DictReader((root / "out" / "progress.csv").open()))
    with RunStore(root / "store") as store:
        run_id = run_spec(SIZES["micro"]).run_id
        model, task = groklab.load(run_id, 0, 20, store=store)
    expected = restricted_excluded(model, task, keys)
    row = next(r for r in rows if r["step"] == "20")
    assert float(row["restricted_loss_final_keys"]) == pytest.approx(expected["restricted_loss"])
    assert float(row["excluded_loss_final_keys"]) == pytest.approx(expected["excluded_loss"])


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    _, first, second, trained_first, trained_all = micro
    assert trained_first == [run_spec(SIZES["micro"]).run_id]
    assert trained_all == trained_first
    assert second.table == first.table


def test_phase_steps_are_the_first_evaluations_at_each_level():
    curves = {
        "step": np.array([0, 10, 20, 30, 40]),
        "train_acc": np.array([[0.1, 0.995, 1.0, 1.0, 1.0]]),
        "val_acc": np.array([[0.0, 0.1, 0.6, 0.99, 1.0]]),
    }
    assert phase_steps(curves) == {"memorized": 10.0, "cleanup": 20.0, "grokked": 30.0}
    curves["val_acc"] = np.zeros((1, 5))
    assert np.isnan(phase_steps(curves)["grokked"])
