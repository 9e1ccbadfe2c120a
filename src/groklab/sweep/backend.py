"""Where a sweep's populations run: the seam between "what to run" and "where it runs".

A backend takes populations (RunSpecs) and returns one TrainResult per population, in order,
with the metrics in the store at `store_root`. `local` trains them one after another in this
process; a cluster backend (Ray, sweep/ray_backend.py) has the same signature. BACKENDS, the
backends' entries (their classes, options, flags and [sweep] keys), lives in sweep/registry.py,
which imports no torch, and is the same dict here; the `Backend` protocol and sweep-wide
progress live in sweep/base.py, below every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from groklab.errors import GroklabError
from groklab.events import Sink
from groklab.run import train
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.sweep.base import Backend, ProgressCounter, SweepProgress
from groklab.sweep.registry import BACKENDS, backend_entry  # noqa: F401  (BACKENDS: its old path)
from groklab.train import Progress, TrainResult
from groklab.train.options import TrainOptions


class LocalBackend:
    """On this machine: in this process, one population after another (`workers=1`, the
    default), or spread over `workers` processes of one thread each (on a 2-core CPU two 1-thread
    processes gave 1.3-1.5x the throughput of one 2-thread process, measured on the Power step)."""

    def __init__(self, workers: int = 1, sinks: Sequence[Sink] = ()) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise GroklabError(f"workers={workers!r} must be a positive integer")
        self.workers = workers
        self.sinks = tuple(sinks)  # mirrors (TensorBoard, W&B), fed after the store

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        options: TrainOptions,
        progress: Callable[[SweepProgress], None] | None = None,
    ) -> list[TrainResult]:
        if self.workers > 1 and len(specs) > 1:
            from groklab.sweep.pool import run_in_processes

            return run_in_processes(
                specs,
                self.workers,
                store_root=store_root,
                options=options,
                progress=progress,
                sinks=self.sinks,
            )
        counter = ProgressCounter(specs)
        results = []
        with RunStore(store_root) as store:
            for i, spec in enumerate(counter.specs):
                on_step = None
                if progress is not None:

                    def on_step(event: Progress, i: int = i) -> None:
                        progress(counter.at(i, event.step))

                results.append(train(spec, store, options, progress=on_step, sinks=self.sinks))
                if progress is not None:
                    progress(counter.finish(i))
        return results


def get_backend(backend: str | Backend, **options: object) -> Backend:
    """A backend by name from BACKENDS (or the object itself, as it is). `options`: the
    backend's own (its entry's, e.g. `workers` for local, `address` for ray) and `sinks`
    (mirrors fed after the store); None values are dropped, others checked."""
    if not isinstance(backend, str):
        return backend
    sinks = options.pop("sinks", None) or ()
    return backend_entry(backend).build(
        sinks, **{k: v for k, v in options.items() if v is not None}
    )
