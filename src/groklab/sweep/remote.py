"""Training a population away from the store: in a worker process or on a Ray node.

A worker trains in a private scratch store, streams each evaluation to the driver while it
trains (a `QueueSink`, sweep/stream.py) and returns a `Payload` (the curves and the final
checkpoint as bytes); only the driver writes the real store (the streamed events as they
come, `record_payload` at the end, which rewrites the same rows). A worker that dies leaves
nothing behind, and a retried one starts from the checkpoint the driver handed it, so metrics
are neither lost nor written twice. A payload is plain data: a new file a run keeps (e.g. kept
checkpoints) is one more field of `Payload`, written by `record_payload`.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field

import numpy as np
import torch

from groklab.config import spec_from_dict
from groklab.files import write_bytes_atomic
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.store.db import METRICS
from groklab.sweep.stream import QueueSink
from groklab.train import TrainResult, train
from groklab.train.loop import summarize_run


@dataclass(frozen=True)
class Payload:
    spec_json: str
    step: int
    status: str
    curves: dict[str, np.ndarray]
    checkpoint: bytes
    layer_norms: dict[str, np.ndarray] | None = None  # store.read_layer_norms
    kept: dict[int, bytes] = field(default_factory=dict)  # step -> kept checkpoint's bytes


def train_payload(
    spec_json: str,
    device: str | None,
    checkpoint: bytes | None,
    threads: int | None = None,
    *,
    events=None,
    tag: int = 0,
    keep_checkpoints: str = "none",
) -> Payload:
    """Worker side: train the spec (resuming from `checkpoint` if given) in a scratch store;
    with an `events` queue, stream each evaluation to the driver while training (tagged
    with the population's index `tag`, sweep/stream.py)."""
    if threads is not None:
        torch.set_num_threads(threads)
    spec = spec_from_json(spec_json)
    with (
        tempfile.TemporaryDirectory(prefix="groklab-worker-") as scratch,
        RunStore(scratch) as store,
    ):
        if checkpoint is not None:
            store.checkpoint_path(spec.run_id).write_bytes(checkpoint)
        sinks = [] if events is None else [QueueSink(events, tag)]
        result = train(spec, store, device=device, sinks=sinks, keep_checkpoints=keep_checkpoints)
        blob = store.checkpoint_path(spec.run_id).read_bytes()
        norms = store.read_layer_norms(spec.run_id)
        kept = {s: path.read_bytes() for s, path in store.kept_checkpoints(spec.run_id).items()}
    return Payload(spec_json, result.step, result.status, result.curves, blob, norms, kept)


def spec_from_json(text: str) -> RunSpec:
    return spec_from_dict(json.loads(text))


def checkpoint_bytes(store: RunStore, spec: RunSpec) -> bytes | None:
    """Driver side: the run's checkpoint, if an earlier attempt left one, to resume from."""
    path = store.checkpoint_path(spec.run_id)
    return path.read_bytes() if path.exists() else None


def record_payload(store: RunStore, spec: RunSpec, payload: Payload) -> TrainResult:
    """Driver side: write a worker's curves and checkpoint into the store; return the result."""
    store.create_run(
        spec.run_id,
        canonical_json(spec),
        n_members=spec.n_members,
        summary=spec.summary(),
        members=[vars(m) for m in spec.members],
    )
    curves = payload.curves
    for j, step in enumerate(curves["step"]):
        store.write_metrics(spec.run_id, int(step), {k: curves[k][:, j] for k in METRICS})
    norms = payload.layer_norms or {"step": []}
    for j, step in enumerate(norms["step"]):
        layers = {k: v[:, j] for k, v in norms.items() if k != "step"}
        store.write_layer_norms(spec.run_id, int(step), layers)
    for step, blob in payload.kept.items():
        kept = store.kept_checkpoint_path(spec.run_id, step)
        kept.parent.mkdir(exist_ok=True)
        write_bytes_atomic(kept, blob)
    write_bytes_atomic(store.checkpoint_path(spec.run_id), payload.checkpoint)
    store.set_status(spec.run_id, payload.status, payload.step)
    return summarize_run(spec, store, payload.step, payload.status)
