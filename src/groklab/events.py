"""What the loop tells the world: one `EvalEvent` per evaluation, to a list of `Sink`s.

The loop writes nothing itself but checkpoints (through a `Checkpoints` it is handed). Calls
come in this order, to every sink in list order:

    on_start(run, step)      once, before the first step (step > 0 when resuming)
    on_eval(event)           at each evaluation step, in increasing step order
    on_end(run_id, status, step)   once: status "done", "interrupted" (Ctrl-C) or "failed"

A run found done in its checkpoint trains nothing and calls no sink. The store's sink must
come first: it is the source of truth, and a mirror (TensorBoard, W&B) after it only sees an
event the store accepted (if the store raises, later sinks never see the event). A sink never
changes what is trained: it receives numpy copies, never the training state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from groklab.spec import RunSpec, canonical_json


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    spec_json: str  # canonical JSON: rebuilds the spec
    n_members: int
    steps: int  # the step budget (train.steps)
    summary: str  # one line, as `groklab runs` shows it
    members: tuple[dict, ...]  # each member's fields (MemberSpec as a dict)

    @classmethod
    def of(cls, spec: RunSpec) -> RunInfo:
        return cls(
            spec.run_id,
            canonical_json(spec),
            spec.n_members,
            spec.train.steps,
            spec.summary(),
            tuple(vars(m) for m in spec.members),
        )


@dataclass(frozen=True)
class EvalEvent:
    run_id: str
    step: int
    steps: int  # the step budget, for progress
    metrics: dict[str, np.ndarray]  # metric name -> [M], the names of store.METRICS but step
    layer_norms: dict[str, np.ndarray]  # parameter name -> [M], its L2 norm per member


@runtime_checkable
class Sink(Protocol):
    def on_start(self, run: RunInfo, step: int) -> None: ...

    def on_eval(self, event: EvalEvent) -> None: ...

    def on_end(self, run_id: str, status: str, step: int) -> None: ...


class Checkpoints(Protocol):
    """Where the loop's resume point lives (the store's checkpoint file, a worker's scratch).

    `save` is called every `checkpoint_every` steps, on Ctrl-C and at the end, with the full
    state dict (TrainState.to_dict) and its step; `keep` at each step the run's KeepRule
    keeps (train/history.py), after that step's evaluation, for the checkpoint history. Both
    must write atomically."""

    def load(self) -> dict | None: ...

    def save(self, state: dict, step: int) -> None: ...

    def keep(self, state: dict, step: int) -> None: ...


class BaseSink:
    """A sink that ignores every call; subclasses override what they listen to."""

    def on_start(self, run: RunInfo, step: int) -> None:
        pass

    def on_eval(self, event: EvalEvent) -> None:
        pass

    def on_end(self, run_id: str, status: str, step: int) -> None:
        pass


class CallbackSink(BaseSink):
    """Calls `callback(event)` at each evaluation (the `progress=` argument of `train`)."""

    def __init__(self, callback) -> None:
        self.callback = callback

    def on_eval(self, event: EvalEvent) -> None:
        self.callback(event)


def emit_start(sinks: Sequence[Sink], run: RunInfo, step: int) -> None:
    for sink in sinks:
        sink.on_start(run, step)


def emit_eval(sinks: Sequence[Sink], event: EvalEvent) -> None:
    for sink in sinks:
        sink.on_eval(event)


def emit_end(sinks: Sequence[Sink], run_id: str, status: str, step: int) -> None:
    """Every sink hears the end, even if an earlier one fails (the first error is raised)."""
    error: BaseException | None = None
    for sink in sinks:
        try:
            sink.on_end(run_id, status, step)
        except Exception as e:  # noqa: BLE001 - keep closing the others
            error = error or e
    if error is not None:
        raise error
