"""Shared set-up for the experiment tests: an experiment's micro size run twice into one store,
remembering what was trained, which checkpoints were written and the progress reported."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from groklab.experiments import ExperimentContext, ExperimentResult, get_experiment
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.sweep import LocalBackend, SweepProgress

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# a micro Omnigrok run (teacher-student, tanh MLP) for the landscape and grokking helpers
MICRO_MLP = ModelSpec(arch="mlp", n_layers=2, d_mlp=8, act="tanh", mlp_bias=True)
BASE = RunSpec(
    data=DataSpec(dataset="teacher_student", n_examples=30),
    model=MICRO_MLP,
    optim=OptimSpec(optimizer="adamw", warmup_steps=0),
    train=TrainSpec(steps=12, batch_size="full", eval_every=4, loss="mse"),
    members=members_from(seed=0, n_train=10, lr=1e-2, weight_decay=0.5),
)


class CountingBackend(LocalBackend):
    """The local backend, remembering which populations it was asked to train."""

    def __init__(self) -> None:
        super().__init__()
        self.trained: list[str] = []

    def run(self, specs, **kwargs):
        self.trained += [spec.run_id for spec in specs]
        return super().run(specs, **kwargs)


def checkpoint_mtimes(store_root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (store_root / "checkpoints").iterdir()}


@dataclass(frozen=True)
class MicroRuns:
    """An experiment's micro size run twice into one store; progress only on the first run."""

    first: ExperimentResult
    second: ExperimentResult
    trained_first: list[str]  # run ids the backend trained in the first run
    trained_all: list[str]  # ... in both runs
    mtimes_first: dict[str, int]  # checkpoint file -> mtime after the first run
    mtimes_all: dict[str, int]  # ... after both
    events: list[SweepProgress]  # progress of the first run

    def path(self, name: str) -> Path:
        """The file called `name` that the first run wrote."""
        return next(p for p in self.first.paths if p.name == name)

    def is_png(self, name: str) -> bool:
        return self.path(name).read_bytes()[:8] == PNG_MAGIC


@pytest.fixture(scope="session")
def run_micro_twice(tmp_path_factory) -> Callable[[str], MicroRuns]:
    """run_micro_twice("power2022-curves") -> MicroRuns, in a fresh folder of its own; once
    per session and experiment (the claims tests read the same runs as the experiment's)."""
    done: dict[str, MicroRuns] = {}

    def run(name: str) -> MicroRuns:
        if name not in done:
            done[name] = _run(name)
        return done[name]

    def _run(name: str) -> MicroRuns:
        root = tmp_path_factory.mktemp(name)
        (root / "out").mkdir()
        backend, events = CountingBackend(), []
        ctx = ExperimentContext(
            size="micro",
            out_dir=root / "out",
            store_root=root / "store",
            backend=backend,
            progress=events.append,
        )
        experiment = get_experiment(name)
        first = experiment.run(ctx)
        trained_first, mtimes_first = list(backend.trained), checkpoint_mtimes(root / "store")
        second = experiment.run(replace(ctx, progress=None))
        mtimes_all = checkpoint_mtimes(root / "store")
        return MicroRuns(
            first, second, trained_first, backend.trained, mtimes_first, mtimes_all, events
        )

    return run
