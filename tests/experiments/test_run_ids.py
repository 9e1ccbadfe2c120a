"""Every experiment asks for the same runs at every size as when run_ids.json was recorded: a
refactor of the experiments must not change a spec, or the store's results stop being reused.

The runs are found without training: a backend records the populations it is given and answers
with made-up curves, so each experiment runs through to its files."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.errors import GroklabError
from groklab.experiments import (
    SIZES,
    ExperimentContext,
    ExperimentResult,
    get_experiment,
    load_all,
)
from groklab.store.db import METRICS
from groklab.train import TrainResult


def fake_curves(n_members: int, steps: int, eval_every: int) -> dict[str, np.ndarray]:
    """Accuracies rising from 0 to 1, losses and norms falling, one row per member."""
    step = np.arange(0, steps + 1, max(eval_every, 1))  # [S]
    ramp = np.tile(np.linspace(0.0, 1.0, step.size), (n_members, 1))  # [M, S]
    curves = {name: 1.0 + (1.0 - ramp) for name in METRICS}
    curves.update(step=step, train_acc=ramp, val_acc=ramp**2)
    return curves


class RecordingBackend:
    """Records each population's run id; returns made-up results instead of training."""

    def __init__(self) -> None:
        self.run_ids: list[str] = []

    def run(self, specs, *, store_root, options, progress):
        results = []
        for spec in specs:
            self.run_ids.append(spec.run_id)
            curves = fake_curves(spec.n_members, spec.train.steps, spec.train.eval_every)
            reached = np.full(spec.n_members, float(curves["step"][-1]))
            results.append(
                TrainResult(spec.run_id, spec.train.steps, "done", curves, reached, reached)
            )
        return results


@dataclass(frozen=True)
class DryRun:
    run_ids: list[str]  # every population the experiment trains, in order
    outputs: dict[str, str]  # file name -> its text (a CSV, a Markdown table) or "figure"
    result: ExperimentResult | None  # None where the experiment stopped at a read-back


def dry_run(name: str, size: str, monkeypatch) -> DryRun:
    """Experiment `name` at `size` on made-up curves: the runs it asks for and what it wrote.
    Figures
    are drawn but not rendered; an experiment that reads back trained weights stops there
    (made-up runs wrote none); the QM9 files are not looked for (the extra may be absent)."""
    monkeypatch.setattr(Figure, "savefig", lambda self, f, **kwargs: None)
    monkeypatch.setattr("groklab.data.qm9.qm9pack_files", lambda *a, **k: None)
    experiment = get_experiment(name)  # omnigrok-qm9 reads qm9pack_files through its module
    backend = RecordingBackend()
    with tempfile.TemporaryDirectory() as root:
        out = Path(root) / "out"
        out.mkdir()
        ctx = ExperimentContext(size, out, Path(root) / "store", backend=backend)
        try:
            result = experiment.run(ctx)
        except GroklabError as error:
            if "no run matches" not in str(error):
                raise  # only power2022-embeddings' load of a trained member may stop it
            result = None
        outputs = {path.name: read_output(path) for path in sorted(out.iterdir())}
    return DryRun(backend.run_ids, outputs, result)


def read_output(path: Path) -> str:
    return path.read_text() if path.suffix in (".csv", ".md") else "figure"


def all_dry_runs(monkeypatch) -> dict[str, dict[str, DryRun]]:
    """{experiment: {size: its dry run}} for every registered experiment and size."""
    return {
        name: {size: dry_run(name, size, monkeypatch) for size in SIZES}
        for name in sorted(load_all())
    }


PINNED = json.loads((Path(__file__).parent / "run_ids.json").read_text())


def test_every_experiment_has_pinned_run_ids():
    assert sorted(PINNED) == sorted(load_all())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(PINNED))
def test_experiment_builds_its_pinned_run_ids(name, size, monkeypatch):
    assert dry_run(name, size, monkeypatch).run_ids == PINNED[name][size]


OUTPUTS = json.loads((Path(__file__).parent / "outputs.json").read_text())


def headers(outputs: dict[str, str]) -> dict[str, str]:
    """File name -> a CSV's header line ("" for a figure or Markdown file)."""
    return {
        name: text.split("\n")[0] if name.endswith(".csv") else "" for name, text in outputs.items()
    }


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_experiment_writes_its_pinned_files_and_csv_headers(name, size, monkeypatch):
    assert headers(dry_run(name, size, monkeypatch).outputs) == OUTPUTS[name][size]
