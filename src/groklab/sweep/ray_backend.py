"""Populations as Ray tasks, on an existing cluster or on a local Ray instance started for you.

    groklab sweep sweep.toml --backend ray                        # local instance
    groklab sweep sweep.toml --backend ray --ray-address auto     # the cluster (or RAY_ADDRESS)

Each task trains one population in a scratch store on its node and returns a payload (curves
and checkpoint bytes); the driver alone writes the store, as tasks finish. A task that fails is
retried by Ray (`max_retries`) from the checkpoint the driver handed it, and its metrics are
written once, when it succeeds. Restarting an interrupted sweep submits only what is missing.
Ray is an optional extra: `pip install 'groklab[ray]'`. On a cluster, groklab must be
importable on every node (installed there, or shipped with a Ray runtime_env).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from groklab.errors import GroklabError
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.sweep.base import ProgressCounter, SweepProgress
from groklab.sweep.remote import checkpoint_bytes, record_payload, train_payload
from groklab.train import TrainResult


def import_ray():
    try:
        import ray
    except ImportError:
        raise GroklabError(
            "the ray backend needs Ray: pip install 'groklab[ray]' (or pick --backend local)"
        ) from None
    return ray


class RayBackend:
    def __init__(
        self,
        address: str | None = None,
        max_retries: int = 2,
        cpus_per_task: float = 1.0,
        task: Callable[..., object] = train_payload,
    ) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.max_retries = max_retries
        self.cpus_per_task = cpus_per_task
        self.task = task  # what a worker runs; the default trains and returns a Payload
        self.ray = import_ray()

    def _init(self) -> None:
        if self.ray.is_initialized():
            return
        if self.address:  # an existing cluster
            self.ray.init(address=self.address, log_to_driver=False)
        else:  # a local instance, stopped when this process exits
            self.ray.init(include_dashboard=False, log_to_driver=False)

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        device: str | None = None,
        progress: Callable[[SweepProgress], None] | None = None,
    ) -> list[TrainResult]:
        self._init()
        gpu = device is not None and device.startswith("cuda")
        task = self.ray.remote(self.task).options(
            max_retries=self.max_retries,
            retry_exceptions=True,
            num_cpus=self.cpus_per_task,
            num_gpus=1 if gpu else 0,
        )
        counter = ProgressCounter(specs)
        results: list[TrainResult | None] = [None] * len(specs)
        with RunStore(store_root) as store:
            refs = {
                task.remote(
                    canonical_json(spec),
                    "cuda" if gpu else "cpu",
                    checkpoint_bytes(store, spec),
                    max(1, int(self.cpus_per_task)),
                ): i
                for i, spec in enumerate(specs)
            }
            pending = list(refs)
            while pending:
                finished, pending = self.ray.wait(pending, num_returns=1)
                i = refs[finished[0]]
                results[i] = record_payload(store, specs[i], self.ray.get(finished[0]))
                if progress is not None:
                    progress(counter.finish(i))
        return [r for r in results if r is not None]
