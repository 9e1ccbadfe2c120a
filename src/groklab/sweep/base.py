"""What every backend shares: the `Backend` seam and sweep-wide progress.

A backend is one module with its class (the `Backend` protocol), and one `BackendEntry` line in
sweep/registry.py's BACKENDS naming that class as "module:class" and the options it takes, each
with its command-line flag, its key in a sweep file's [sweep] table, its help and its check.
The commands add each option's flag from there and a sweep file's [sweep] keys are checked
there, so a new backend touches its own module and that one line. `BackendEntry`,
`BackendOption` and their checks are importable from here too, as before.

Progress counts member-steps over all the populations a backend was given: a population of 4
members at step 10 of 20 has done 40 of its 80. A population that stops early (it reached
`stop_at_val_acc`) counts as having done all of its steps when it finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from groklab.spec import RunSpec
from groklab.sweep.registry import (  # noqa: F401  (their old path)
    BackendEntry,
    BackendOption,
    address,
    given_as,
    positive_int,
)
from groklab.train import TrainOptions, TrainResult


@dataclass(frozen=True)
class SweepProgress:
    populations_done: int
    populations: int
    members_done: int  # members of the populations done
    members: int
    step: int  # member-steps done, over all populations
    steps: int  # member-steps in all populations (sum of n_members * train.steps)


@runtime_checkable
class Backend(Protocol):
    """Trains populations and returns one TrainResult each, in order, with their metrics in
    the store at `store_root`; `options` say how each trains (device, kept checkpoints ...)."""

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        options: TrainOptions,
        progress: Callable[[SweepProgress], None] | None,
    ) -> list[TrainResult]: ...


class ProgressCounter:
    """Turns per-population events into sweep-wide SweepProgress (for any backend)."""

    def __init__(self, specs: Sequence[RunSpec]) -> None:
        self.specs = list(specs)
        self.done: set[int] = set()
        self.current: dict[int, int] = {}  # population index -> its step, while it runs

    def at(self, i: int, step: int) -> SweepProgress:
        """Population `i` is at `step`."""
        self.current[i] = step
        return self.event()

    def finish(self, i: int) -> SweepProgress:
        """Population `i` is done (trained, or found done in the store)."""
        self.current.pop(i, None)
        self.done.add(i)
        return self.event()

    def event(self) -> SweepProgress:
        size = [spec.n_members for spec in self.specs]
        budget = [spec.n_members * spec.train.steps for spec in self.specs]
        running = sum(size[i] * step for i, step in self.current.items())
        return SweepProgress(
            populations_done=len(self.done),
            populations=len(self.specs),
            members_done=sum(size[i] for i in self.done),
            members=sum(size),
            step=sum(budget[i] for i in self.done) + running,
            steps=sum(budget),
        )
