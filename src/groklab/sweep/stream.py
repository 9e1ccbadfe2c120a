"""Evaluation events streamed from workers (processes, Ray tasks) to the driver's sinks.

A worker's `QueueSink` puts `(kind, tag, attempt, data)` on a queue the driver drains while
the populations train: `("start", i, attempt, step)` when an attempt of population `i` starts
at `step` (its resume point), then `("eval", i, attempt, EvalEvent)` per evaluation and
`("checkpoint", i, attempt, (step, bytes))` each time it saves its resume point
(`StreamedCheckpoints`: every `checkpoint_every` steps and on Ctrl-C), which the driver
writes to its store, so a worker killed later resumes from there. Each attempt has a fresh
id. The driver's `EventRouter` feeds them to its sinks (the store first)
and keeps only the last attempt's events: when a retried attempt starts, the store drops the
rows after its resume step (StoreSink.on_start) and the old attempt's late events are ignored,
so nothing is lost or counted twice.
"""

from __future__ import annotations

import queue as queue_module
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from groklab.errors import GroklabError
from groklab.events import BaseSink, EvalEvent, RunInfo, Sink, emit_end, emit_eval, emit_start
from groklab.files import write_bytes_atomic
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.store.sink import StoreSink
from groklab.sweep.base import ProgressCounter, SweepProgress


class QueueSink(BaseSink):
    """Worker side: puts this attempt's start and evaluations on `events`."""

    def __init__(self, events, tag: int) -> None:
        self.events, self.tag = events, tag
        self.attempt = uuid.uuid4().hex

    def on_start(self, run: RunInfo, step: int) -> None:
        self.events.put(("start", self.tag, self.attempt, step))

    def on_eval(self, event: EvalEvent) -> None:
        self.events.put(("eval", self.tag, self.attempt, event))

    def on_checkpoint(self, path: Path, step: int) -> None:
        self.events.put(("checkpoint", self.tag, self.attempt, (step, path.read_bytes())))


class StreamedCheckpoints:
    """Worker side: the scratch store's checkpoints (`StoreCheckpoints`), each resume point
    also streamed to the driver through the sink's queue."""

    def __init__(self, checkpoints, sink: QueueSink) -> None:
        self.checkpoints, self.sink = checkpoints, sink

    @property
    def path(self) -> Path:
        return self.checkpoints.path

    def load(self) -> dict | None:
        return self.checkpoints.load()

    def save(self, state: dict, step: int) -> None:
        self.checkpoints.save(state, step)
        self.sink.on_checkpoint(self.checkpoints.path, step)

    def keep(self, state: dict, step: int) -> None:
        self.checkpoints.keep(state, step)


def failures_error(failures: dict[int, str], n: int) -> GroklabError:
    """The one line a backend ends with when some populations failed (each said why)."""
    return GroklabError(
        f"{len(failures)} of {n} populations failed (each said why above); the other "
        f"{n - len(failures)} are stored; run the sweep again to retry the failed ones"
    )


class EventRouter:
    """Driver side: streamed events to [StoreSink(store), *mirrors], and to sweep progress."""

    def __init__(
        self,
        specs: Sequence[RunSpec],
        store: RunStore,
        mirrors: Sequence[Sink],
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.specs, self.progress, self.store = list(specs), progress, store
        self.sinks = [StoreSink(store), *mirrors]
        self.counter = ProgressCounter(specs)
        self.attempts: dict[int, str] = {}  # population -> its latest attempt

    def handle(self, item: tuple) -> None:
        kind, i, attempt, data = item
        if kind == "start":
            self.attempts[i] = attempt
            emit_start(self.sinks, RunInfo.of(self.specs[i]), data)
        elif kind == "eval" and self.attempts.get(i) == attempt:
            emit_eval(self.sinks, data)
            if self.progress is not None:
                self.progress(self.counter.at(i, data.step))
        elif kind == "checkpoint" and self.attempts.get(i) == attempt:
            step, blob = data
            run_id = self.specs[i].run_id
            write_bytes_atomic(self.store.checkpoint_path(run_id), blob)
            self.store.set_status(run_id, "running", step)

    def drain(self, events) -> None:
        """Handle every event already on the queue (`get_nowait` until empty)."""
        while True:
            try:
                item = events.get_nowait()
            except queue_module.Empty:  # Ray's queue raises a subclass of it
                return
            self.handle(item)

    def finish(self, i: int, status: str, step: int) -> None:
        """Population `i` ended (its payload is recorded, or its last attempt failed)."""
        if i in self.attempts:
            emit_end(self.sinks[1:], self.specs[i].run_id, status, step)  # the store has it
        if self.progress is not None and status != "failed":
            self.progress(self.counter.finish(i))

    def failed(self, i: int, store: RunStore) -> None:
        record = store.get_run(self.specs[i].run_id)  # None: it failed before it started
        if record is not None:
            store.set_status(record.run_id, "failed", record.step)
        self.finish(i, "failed", 0 if record is None else record.step)
