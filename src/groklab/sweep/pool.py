"""Populations spread over local worker processes of one thread each.

Workers stream their evaluation events to this process through a manager queue while they
train (sweep/stream.py); this process alone writes the store, the events as they come and each
population's checkpoint and status as it finishes, so an interrupted sweep keeps every
evaluation streamed so far and every finished population.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.sweep.base import SweepProgress
from groklab.sweep.remote import checkpoint_bytes, record_payload, train_payload
from groklab.sweep.stream import EventRouter
from groklab.train import TrainResult
from groklab.train.events import Sink

POLL_S = 0.1  # how often the driver drains the event queue while it waits


def run_in_processes(
    specs: Sequence[RunSpec],
    workers: int,
    *,
    store_root: Path,
    device: str | None,
    progress: Callable[[SweepProgress], None] | None,
    sinks: Sequence[Sink] = (),
    keep_checkpoints: str = "none",
) -> list[TrainResult]:
    results: list[TrainResult | None] = [None] * len(specs)
    context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state
    with (
        RunStore(store_root) as store,
        context.Manager() as manager,
        ProcessPoolExecutor(workers, mp_context=context) as pool,
    ):
        events = manager.Queue()
        router = EventRouter(specs, store, sinks, progress)
        futures = {
            pool.submit(
                train_payload,
                canonical_json(spec),
                device,
                checkpoint_bytes(store, spec),
                1,
                events=events,
                tag=i,
                keep_checkpoints=keep_checkpoints,
            ): i
            for i, spec in enumerate(specs)
        }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            router.drain(events)  # a worker's events are all queued before its result
            for future in finished:
                i = futures[future]
                try:
                    payload = future.result()
                except BaseException:
                    router.failed(i, store)
                    raise
                results[i] = record_payload(store, specs[i], payload)
                router.finish(i, payload.status, payload.step)
    return [r for r in results if r is not None]
