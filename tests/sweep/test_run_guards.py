"""What the sweep driver checks before any backend trains: each pending population's resume
point is its own, the populations fit this machine's memory (local backend), and it holds the
populations' run locks while the backend runs."""

import shutil

import pytest

from groklab.errors import GroklabError
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.store.lock import is_held_here
from groklab.sweep.backend import LocalBackend
from groklab.sweep.run import run_points

MODEL = ModelSpec(arch="mlp", n_layers=1, d_model=8, d_mlp=16)


def point(seed: int) -> RunSpec:
    return RunSpec(
        data=DataSpec(op="add", p=7),
        model=MODEL,
        train=TrainSpec(steps=10, eval_every=5),
        members=members_from(seed=seed),
    )


class Recording(LocalBackend):
    """The local backend, noting what the driver held when it was called."""

    def run(self, specs, *, store_root, **kwargs):
        store = RunStore(store_root)
        self.held = [is_held_here(store.lock_path(s.run_id)) for s in specs]
        return super().run(specs, store_root=store_root, **kwargs)


class NotCalled:
    def run(self, specs, **kwargs):
        raise AssertionError("the backend ran")


def test_driver_holds_each_pending_populations_lock_while_the_backend_runs(tmp_path):
    backend = Recording()
    run_points([point(0), point(1)], tmp_path, max_members=1, backend=backend)
    assert backend.held == [True, True]
    assert not is_held_here(RunStore(tmp_path).lock_path(point(0).run_id))  # released after


def test_a_foreign_resume_point_fails_in_the_driver_before_any_backend_runs(tmp_path):
    other, spec = point(5), point(0)
    store = RunStore(tmp_path)
    train(other, store)
    target = store.checkpoint_path(spec.run_id)
    shutil.copy(store.checkpoint_path(other.run_id), target)
    with pytest.raises(GroklabError, match=f"checkpoint {target} is of run '{other.run_id}'"):
        run_points([spec], tmp_path, backend=NotCalled())


def test_a_population_too_big_for_memory_fails_before_the_local_backend_runs(tmp_path, monkeypatch):
    import groklab.train.memory as memory

    class Local(LocalBackend):
        def run(self, specs, **kwargs):
            raise AssertionError("the backend ran")

    monkeypatch.setattr(memory, "available_memory", lambda device: 100)
    with pytest.raises(GroklabError, match="needs about"):
        run_points([point(0)], tmp_path, backend=Local())
