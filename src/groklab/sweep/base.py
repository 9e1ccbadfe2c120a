"""What every backend shares: the `Backend` seam and sweep-wide progress.

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
from groklab.train import TrainResult


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
    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        device: str | None,
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
