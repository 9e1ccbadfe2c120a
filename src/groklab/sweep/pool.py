"""Populations spread over local worker processes of one thread each.

Workers return payloads (curves and checkpoint bytes); this process alone writes the store, as
each population finishes, so an interrupted sweep keeps every finished population.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.sweep.base import ProgressCounter, SweepProgress
from groklab.sweep.remote import checkpoint_bytes, record_payload, train_payload
from groklab.train import TrainResult


def run_in_processes(
    specs: Sequence[RunSpec],
    workers: int,
    *,
    store_root: Path,
    device: str | None,
    progress: Callable[[SweepProgress], None] | None,
) -> list[TrainResult]:
    counter = ProgressCounter(specs)
    results: list[TrainResult | None] = [None] * len(specs)
    context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state
    with RunStore(store_root) as store, ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {
            pool.submit(
                train_payload, canonical_json(spec), device, checkpoint_bytes(store, spec), 1
            ): i
            for i, spec in enumerate(specs)
        }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                i = futures[future]
                results[i] = record_payload(store, specs[i], future.result())
                if progress is not None:
                    progress(counter.finish(i))
    return [r for r in results if r is not None]
