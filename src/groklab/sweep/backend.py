"""Where a sweep's populations run: the seam between "what to run" and "where it runs".

A backend takes populations (RunSpecs) and returns one TrainResult per population, in order,
with the metrics in the store at `store_root`. `local` trains them one after another in this
process; a cluster backend (Ray) registers itself in BACKENDS with the same signature.

Progress counts member-steps over all the populations a backend was given: a population of 4
members at step 10 of 20 has done 40 of its 80. A population that stops early (it reached
`stop_at_val_acc`) counts as having done all of its steps when it finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from groklab.errors import GroklabError
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.train import Progress, TrainResult, train


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


class LocalBackend:
    """On this machine: in this process, one population after another (`workers=1`, the
    default), or spread over `workers` processes of one thread each (on a 2-core CPU two 1-thread
    processes give 1.3-1.5x the throughput of one 2-thread process, PERF-NOTES.md)."""

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise GroklabError(f"workers={workers!r} must be a positive integer")
        self.workers = workers

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        device: str | None = None,
        progress: Callable[[SweepProgress], None] | None = None,
    ) -> list[TrainResult]:
        if self.workers > 1 and len(specs) > 1:
            from groklab.sweep.pool import run_in_processes

            return run_in_processes(
                specs, self.workers, store_root=store_root, device=device, progress=progress
            )
        counter = ProgressCounter(specs)
        results = []
        with RunStore(store_root) as store:
            for i, spec in enumerate(counter.specs):
                on_step = None
                if progress is not None:

                    def on_step(event: Progress, i: int = i) -> None:
                        progress(counter.at(i, event.step))

                results.append(train(spec, store, device=device, progress=on_step))
                if progress is not None:
                    progress(counter.finish(i))
        return results


def _ray_backend(**options: object) -> Backend:
    from groklab.sweep.ray_backend import RayBackend  # Ray itself is imported only when used

    return RayBackend(**options)


BACKENDS: dict[str, Callable[..., Backend]] = {"local": LocalBackend, "ray": _ray_backend}


def get_backend(backend: str | Backend, **options: object) -> Backend:
    """A backend by name from BACKENDS (or the object itself); unknown names list the choices.
    `options` go to the backend (`workers` for local, `address` for ray); None values are
    dropped."""
    if not isinstance(backend, str):
        return backend
    if backend not in BACKENDS:
        raise GroklabError(f"backend {backend!r} is unknown; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[backend](**{k: v for k, v in options.items() if v is not None})
