"""Training a population away from the store: in a worker process or on a Ray node.

A worker trains in a private scratch store, streams each evaluation and each checkpoint it
saves to the driver while it trains (a `QueueSink` and `StreamedCheckpoints`,
sweep/stream.py) and returns a `Payload` (the curves and the final checkpoint as bytes);
only the driver writes the real store (the streamed events and checkpoints as they come,
`record_payload` at the end, which rewrites the same rows). A worker that dies leaves its
last streamed checkpoint in the driver's store, so a retry resumes from there and metrics
are neither lost nor written twice; Ctrl-C makes the worker save and return an "interrupted"
payload. A payload is plain data: a new file a run keeps (e.g. kept checkpoints) is one more
field of `Payload`, written by `record_payload`.

Scratch stores are `groklab-worker-<pid>-*` folders of the temp directory; a worker killed
outright (kill -9) cannot remove its own, so every driver removes those of dead processes
when it starts and when it ends (`remove_stale_scratch`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from groklab.config import spec_from_json
from groklab.errors import GroklabError
from groklab.events import RunInfo
from groklab.files import pid_is_alive, remove_stale_temp_files, write_bytes_atomic
from groklab.perf import tune_allocator
from groklab.run import summarize_run
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.store.db import METRICS
from groklab.store.sink import StoreCheckpoints, StoreSink, create_run
from groklab.sweep.stream import QueueSink, StreamedCheckpoints
from groklab.train import TrainingInterrupted, TrainResult
from groklab.train.loop import train_loop
from groklab.train.options import TrainOptions

SCRATCH_PREFIX = "groklab-worker-"
_SCRATCH = re.compile(rf"{SCRATCH_PREFIX}(\d+)-")


@dataclass(frozen=True)
class Payload:
    spec_json: str
    step: int
    status: str  # "done" or "interrupted" (Ctrl-C: the worker saved and stopped)
    curves: dict[str, np.ndarray]
    checkpoint: bytes
    layer_norms: dict[str, np.ndarray] | None = None  # store.read_layer_norms
    kept: dict[int, bytes] = field(default_factory=dict)  # step -> kept checkpoint's bytes


def train_payload(
    spec_json: str,
    options: TrainOptions,
    checkpoint: bytes | None,
    threads: int | None = None,
    *,
    events=None,
    tag: int = 0,
    checkpoint_source: str | None = None,
) -> Payload:
    """Worker side: train the spec (resuming from `checkpoint` if given) in a scratch store,
    as `options` say (TrainOptions.portable: no measures hook travels);
    with an `events` queue, stream each evaluation and each saved checkpoint to the driver
    while training (tagged with the population's index `tag`, sweep/stream.py).
    `checkpoint_source`: where the driver read `checkpoint`, named instead of the scratch copy
    when it cannot be loaded."""
    if threads is not None:
        torch.set_num_threads(threads)
    tune_allocator()  # as the driver's command did for itself: no page faults on each step's
    # tensors (a worker is a process of its own; measured: sys time 0.9-2.0 s -> 0.2 s per
    # quick nanda-add population of 5 members x 300 steps)
    spec = spec_from_json(spec_json)
    with (
        tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch,
        RunStore(scratch) as store,
    ):
        copy = store.checkpoint_path(spec.run_id)
        if checkpoint is not None:
            copy.write_bytes(checkpoint)
        try:
            step, status = _train(spec, store, options, events, tag)
        except GroklabError as e:  # name the user's file, not the scratch copy
            if checkpoint_source is None or str(copy) not in str(e):
                raise
            raise GroklabError(str(e).replace(str(copy), checkpoint_source)) from None
        result = summarize_run(spec, store, step, status)
        blob = store.checkpoint_path(spec.run_id).read_bytes()
        norms = store.read_layer_norms(spec.run_id)
        kept = {s: path.read_bytes() for s, path in store.kept_checkpoints(spec.run_id).items()}
    return Payload(spec_json, result.step, status, result.curves, blob, norms, kept)


def _train(spec, store, options, events, tag) -> tuple[int, str]:
    """train() in the scratch store, its checkpoints streamed; Ctrl-C gives "interrupted"."""
    sink = None if events is None else QueueSink(events, tag)
    checkpoints = StoreCheckpoints(store, spec.run_id)
    if sink is not None:
        checkpoints = StreamedCheckpoints(checkpoints, sink)
    try:
        step, done = train_loop(
            spec,
            [StoreSink(store), *([] if sink is None else [sink])],
            checkpoints,
            options,
        )
    except TrainingInterrupted as stop:
        return stop.step, "interrupted"
    create_run(store, RunInfo.of(spec))  # a run found done in its checkpoint
    return step, "done" if done else "interrupted"


def checkpoint_source(store: RunStore, spec: RunSpec) -> str:
    """Driver side: the file `checkpoint_bytes` reads, as errors should name it."""
    return str(store.checkpoint_path(spec.run_id))


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


def remove_stale_scratch(store_root: str | Path | None = None) -> None:
    """Driver side: remove the scratch stores of dead workers and, in the store at
    `store_root`, the temp files of checkpoint writers killed mid-save."""
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        match = _SCRATCH.match(path.name)
        if match and path.is_dir() and not pid_is_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
    if store_root is not None and (Path(store_root) / "checkpoints").is_dir():
        remove_stale_temp_files(Path(store_root) / "checkpoints")
