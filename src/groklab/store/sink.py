"""The store as the loop's first sink (the source of truth) and as its checkpoint place.

    sinks = [StoreSink(store), TensorBoardSink("tb")]    # the store first: mirrors follow it
    train_loop(spec, sinks, StoreCheckpoints(store, spec.run_id))

`groklab.run.train(spec, store)` builds both for you.
"""

from __future__ import annotations

from groklab.events import BaseSink, EvalEvent, RunInfo
from groklab.store.checkpoint import bind, load_run_checkpoint, save_atomic
from groklab.store.db import RunStore


class StoreSink(BaseSink):
    """Writes each evaluation's metrics and layer norms, and the run's status, to the store.

    On start it records the run (if new) and drops rows after the resume step: evaluations
    after a checkpoint are redone (identically) as training replays, so nothing is counted
    twice."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def on_start(self, run: RunInfo, step: int) -> None:
        create_run(self.store, run)  # here, not earlier: a spec that fails leaves no run
        self.store.truncate_metrics(run.run_id, after_step=step - 1)
        self.store.set_status(run.run_id, "running", step)

    def on_eval(self, event: EvalEvent) -> None:
        self.store.write_metrics(event.run_id, event.step, event.metrics)
        self.store.write_layer_norms(event.run_id, event.step, event.layer_norms)

    def on_end(self, run_id: str, status: str, step: int) -> None:
        self.store.set_status(run_id, status, step)


class StoreCheckpoints:
    """The run's resume point: store.checkpoint_path(run_id), written atomically; each save
    also records the step reached (status "running") so `groklab runs` shows progress. Every
    checkpoint carries the run id and format (store/checkpoint.py `bind`); loading one of
    another run, or of no run, is a one-line GroklabError naming the file."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.path = store.checkpoint_path(run_id)

    def load(self) -> dict | None:
        return load_run_checkpoint(self.path, self.run_id) if self.path.exists() else None

    def save(self, state: dict, step: int) -> None:
        save_atomic(bind(state, self.run_id), self.path)
        self.store.set_status(self.run_id, "running", step)

    def keep(self, state: dict, step: int) -> None:
        path = self.store.kept_checkpoint_path(self.run_id, step)
        path.parent.mkdir(exist_ok=True)
        save_atomic(bind(state, self.run_id), path)


def create_run(store: RunStore, run: RunInfo) -> None:
    """Record the run (its spec and members) if the store lacks it; a no-op otherwise."""
    store.create_run(
        run.run_id,
        run.spec_json,
        n_members=run.n_members,
        summary=run.summary,
        members=list(run.members),
    )
