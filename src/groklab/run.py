"""One run's wiring: the composition root above `train/` (the store-free loop) and `store/`.

`train(spec, store)` is what a user, `groklab train` and every sweep backend call: it takes the
run's lock (one writer per run), refuses or rewinds a resume point the store's rows do not
cover (groklab/resume.py), hands the loop the store's sink first, then the caller's sinks
(mirrors such as TensorBoard), then `progress`, saves the resume point through the store,
and reads the result back from the stored curves (`summarize_run`, which records each member's
steps to 99 %). `train/` imports nothing of the store; this module is where the two meet.

    from groklab.run import train
    result = train(spec, RunStore("groklab-runs"))      # TrainResult: curves, steps to 99 %
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from groklab.analysis import steps_to_threshold
from groklab.errors import GroklabError
from groklab.events import CallbackSink, RunInfo, Sink
from groklab.resume import resume_gap
from groklab.resume import rewind as rewind_run
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.store.sink import StoreCheckpoints, StoreSink, create_run
from groklab.train.loop import Progress, TrainResult, train_loop
from groklab.train.options import TrainOptions

log = logging.getLogger(__name__)


def train(
    spec: RunSpec,
    store: RunStore,
    options: TrainOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    sinks: Sequence[Sink] = (),
    rewind: bool = False,
    **fields: object,
) -> TrainResult:
    """Train (or resume, or report) the run of `spec`; metrics and checkpoints go to `store`.

    `options` say how it trains (train/options.py: device, checkpoint_every, compile,
    keep_checkpoints, measures), or their fields as keywords: `train(spec, store,
    device="cpu")`. None of them is part of the run id, and a run may resume under others.
    The store's sink runs first, then `sinks` (mirrors such as TensorBoard), then `progress`
    (called with each EvalEvent). Kept checkpoints ("every:N", "log:N") are full states at
    those evaluation steps besides the resume point (groklab.load reads them); `measures`
    add their values to each evaluation's metrics (the loop knows no measure).
    A resume point ahead of the store's rows is refused (resume.py); `rewind` moves it
    back to the last step both hold first, so training records the missing rows again.
    """
    options = (options or TrainOptions()).with_fields(**fields)
    listeners = [StoreSink(store), *sinks]
    if progress is not None:
        listeners.append(CallbackSink(progress))
    with store.run_lock(spec.run_id):  # one writer per run: a second one fails here, at once
        store.remove_stale_temp_files(spec.run_id)  # left by a writer killed mid-save
        check_resume_point(store, spec, rewind=rewind)
        step, done = train_loop(spec, listeners, StoreCheckpoints(store, spec.run_id), options)
        create_run(store, RunInfo.of(spec))  # a run found done in its checkpoint, never started
        if done and store.get_run(spec.run_id).status != "done":  # its last status write lost
            store.set_status(spec.run_id, "done", step)
        return summarize_run(spec, store, step, "done" if done else "interrupted")


def check_resume_point(store: RunStore, spec: RunSpec, *, rewind: bool = False) -> None:
    """Refuse a resume point the store's rows do not cover (one line and the fix), or, with
    `rewind`, move it back to where they do (resume.py). The caller holds the lock."""
    if rewind:
        back = rewind_run(store, spec)
        if back is not None:
            log.warning("run %s: rewound to step %d to record the missing rows", spec.run_id, back)
    gap = resume_gap(store, spec)
    if gap is not None:
        raise GroklabError(gap.text(spec.run_id, store.checkpoint_path(spec.run_id)))


def summarize_run(spec: RunSpec, store: RunStore, step: int, status: str) -> TrainResult:
    """The run's result from its stored curves; records each member's steps to 99 %."""
    curves = store.read_curves(spec.run_id)
    to_train = np.atleast_1d(steps_to_threshold(curves["step"], curves["train_acc"]))
    to_val = np.atleast_1d(steps_to_threshold(curves["step"], curves["val_acc"]))
    for i in range(spec.n_members):
        store.set_member_summary(
            spec.run_id, i, steps_to_train_99=_num(to_train[i]), steps_to_val_99=_num(to_val[i])
        )
    return TrainResult(spec.run_id, step, status, curves, to_train, to_val)


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
