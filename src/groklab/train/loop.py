"""Train a population end to end: resume, evaluate on a schedule, checkpoint, stop early.

Training the same spec again resumes from its checkpoint (or reports it done). A resumed run
equals an uninterrupted one bit for bit: parameters, optimizer moments, batch permutations and
dropout streams all live in the checkpoint, and evaluation draws no random numbers. Ctrl-C is
caught between steps, so the state saved is never half-updated. Nor do the numbers depend
on the thread count (perf.py, train/reduce.py; a float64 run computes its products on one
MKL thread, `perf.serial_blas`), but for the last bits of a tiny float32 model (perf.py says
which products): the checkpoint records the count anyway,
and resuming at another count warns where the BLAS cannot promise the same bits.

`train_loop` knows no store: it emits one EvalEvent per evaluation to the sinks it is handed
(train/events.py) and saves its resume point through a `Checkpoints`. `train(spec, store)` is
the convenient form: the store's sink first, then the caller's sinks, then `progress`.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from groklab.analysis import steps_to_threshold
from groklab.errors import GroklabError
from groklab.perf import SERIAL_BLAS_DTYPES, serial_blas
from groklab.spec import RunSpec
from groklab.train.events import (
    CallbackSink,
    Checkpoints,
    EvalEvent,
    RunInfo,
    Sink,
    emit_end,
    emit_eval,
    emit_start,
)
from groklab.train.history import KeepRule
from groklab.train.schedule import is_eval_step
from groklab.train.state import TrainState, init_state, make_task
from groklab.train.step import build_loss_fn, evaluate, train_step

if TYPE_CHECKING:  # the loop never touches the store; train() hands it to the sinks
    from groklab.store import RunStore

log = logging.getLogger(__name__)


Progress = EvalEvent  # what `progress=` callbacks receive: .step, .steps, .metrics
# measures taken at each evaluation: (flat [M, P], step) -> {name: [M] values}
MeasureHook = Callable[[Tensor, int], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    step: int
    status: str  # "done" or "interrupted"
    curves: dict[str, np.ndarray]  # store.read_curves
    steps_to_train: np.ndarray  # [M] first step with train_acc >= 0.99, nan if never
    steps_to_val: np.ndarray  # [M]


class TrainingInterrupted(GroklabError):
    """Ctrl-C: the run was saved at `step` and resumes by training the same spec again."""

    def __init__(self, run_id: str, step: int) -> None:
        super().__init__(f"interrupted at step {step}; run {run_id} saved")
        self.run_id, self.step = run_id, step


def pick_device(device: str | None = None) -> torch.device:
    """CUDA when present, else CPU; an explicit choice must exist."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise GroklabError(
            f"device={device!r} is not a device; allowed: auto, cpu, cuda, cuda:N"
        ) from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise GroklabError(f"device={device!r} is not available here; allowed: auto, cpu")
    if chosen.type not in ("cpu", "cuda"):
        raise GroklabError(f"device={device!r} is not supported; allowed: auto, cpu, cuda, cuda:N")
    return chosen


def train(
    spec: RunSpec,
    store: RunStore,
    *,
    device: str | None = None,
    checkpoint_every: int = 1000,
    progress: Callable[[Progress], None] | None = None,
    sinks: Sequence[Sink] = (),
    compile: bool = False,
    keep_checkpoints: KeepRule | str = "none",
    measures: MeasureHook | None = None,
    rewind: bool = False,
) -> TrainResult:
    """Train (or resume, or report) the run of `spec`; metrics and checkpoints go to `store`.

    The store's sink runs first, then `sinks` (mirrors such as TensorBoard), then `progress`
    (called with each EvalEvent). `compile` runs each step's forward, loss and backward
    through torch.compile. Like `device`, it is not part of the spec (nor of the run id): it
    changes results only by float reassociation, and a run may resume with or without it.
    `keep_checkpoints` ("none", "every:N", "log:N") keeps the full state at those evaluation
    steps besides the resume point (store.kept_checkpoints; groklab.load reads them).
    `measures(flat [M, P], step) -> {name: [M]}` adds its values to each evaluation's metrics
    (groklab.measures.run.training_measures makes one; the loop knows no measure).
    A resume point ahead of the store's rows is refused (train/resume.py); `rewind` moves it
    back to the last step both hold first, so training records the missing rows again.
    """
    from groklab.store.sink import StoreCheckpoints, StoreSink, create_run  # loop is store-free

    listeners = [StoreSink(store), *sinks]
    if progress is not None:
        listeners.append(CallbackSink(progress))
    with store.run_lock(spec.run_id):  # one writer per run: a second one fails here, at once
        store.remove_stale_temp_files(spec.run_id)  # left by a writer killed mid-save
        check_resume_point(store, spec, rewind=rewind)
        step, done = train_loop(
            spec,
            listeners,
            StoreCheckpoints(store, spec.run_id),
            device=device,
            checkpoint_every=checkpoint_every,
            compile=compile,
            keep=keep_checkpoints,
            measures=measures,
        )
        create_run(store, RunInfo.of(spec))  # a run found done in its checkpoint, never started
        if done and store.get_run(spec.run_id).status != "done":  # its last status write lost
            store.set_status(spec.run_id, "done", step)
        return summarize_run(spec, store, step, "done" if done else "interrupted")


def check_resume_point(store: RunStore, spec: RunSpec, *, rewind: bool = False) -> None:
    """Refuse a resume point the store's rows do not cover (one line and the fix), or, with
    `rewind`, move it back to where they do (train/resume.py). The caller holds the lock."""
    from groklab.train.resume import resume_gap
    from groklab.train.resume import rewind as rewind_run

    if rewind:
        back = rewind_run(store, spec)
        if back is not None:
            log.warning("run %s: rewound to step %d to record the missing rows", spec.run_id, back)
    gap = resume_gap(store, spec)
    if gap is not None:
        raise GroklabError(gap.text(spec.run_id, store.checkpoint_path(spec.run_id)))


def train_loop(
    spec: RunSpec,
    sinks: Sequence[Sink],
    checkpoints: Checkpoints,
    *,
    device: str | None = None,
    checkpoint_every: int = 1000,
    compile: bool = False,
    keep: KeepRule | str = "none",
    measures: MeasureHook | None = None,
) -> tuple[int, bool]:
    """Train `spec` from `checkpoints`' resume point, emitting to `sinks` (train/events.py says
    which calls come when); returns (step reached, whether the run is done)."""
    if checkpoint_every < 1:
        raise GroklabError(f"checkpoint_every={checkpoint_every} must be a positive integer")
    keep = keep if isinstance(keep, KeepRule) else KeepRule.parse(keep)
    dev = pick_device(device)
    task = make_task(spec, dev)  # bad input fails here, before any sink hears of the run
    state = init_state(spec, task, dev)
    saved = checkpoints.load()
    if saved is not None:
        try:
            state.check_fits(saved)
        except GroklabError as e:
            where = getattr(checkpoints, "path", "the resume point")
            raise GroklabError(
                f"checkpoint {where} cannot resume run {spec.run_id}: {e}; delete it to "
                "retrain the run from step 0"
            ) from None
        state.load_dict(saved)
        log.info("resuming %s at step %d", spec.run_id, state.step)
        _check_threads(spec.run_id, saved.get("threads"), dev)
    if not state.done:
        loss_fn = build_loss_fn(state, task, spec, compile=compile)
        kept = keep.steps(spec.train.steps, spec.train.eval_every)
        with serial_blas(dev.type == "cpu" and spec.train.dtype in SERIAL_BLAS_DTYPES):
            _run(spec, sinks, checkpoints, state, task, checkpoint_every, loss_fn, kept, measures)
    return state.step, state.done


def _run(spec, sinks, checkpoints, state, task, checkpoint_every, loss_fn, kept, measures) -> None:
    stop = _StopFlag()
    emit_start(sinks, RunInfo.of(spec), state.step)
    try:
        with stop:
            while True:
                if (
                    is_eval_step(state.step, spec.train.eval_every)
                    or state.step == spec.train.steps
                ):
                    _evaluate(spec, sinks, state, task, measures)
                    if state.step == spec.train.steps or _should_stop(spec, state):
                        state.done = True
                    if state.step in kept or (state.done and kept):  # an early stop is kept too
                        checkpoints.keep(_state_dict(state), state.step)
                    if state.done:
                        break
                if stop.requested:
                    raise KeyboardInterrupt
                train_step(state, task, spec, loss_fn)
                if state.step % checkpoint_every == 0:
                    checkpoints.save(_state_dict(state), state.step)
    except KeyboardInterrupt:
        checkpoints.save(_state_dict(state), state.step)
        emit_end(sinks, spec.run_id, "interrupted", state.step)
        raise TrainingInterrupted(spec.run_id, state.step) from None
    except BaseException:
        emit_end(sinks, spec.run_id, "failed", state.step)
        raise
    checkpoints.save(_state_dict(state), state.step)
    emit_end(sinks, spec.run_id, "done", state.step)


def _state_dict(state: TrainState) -> dict:
    """The checkpoint: the training state and the thread count it was trained at."""
    return {**state.to_dict(), "threads": torch.get_num_threads()}


def _check_threads(run_id: str, saved: int | None, device: torch.device) -> None:
    """Warn, in one line, when a resume at another thread count may not continue the same bits.

    With MKL in strict reproducible mode (perf.py) and the thread-independent sums of
    train/reduce.py, a CPU run computes the same numbers at any thread count (but for the last
    bits of a tiny float32 model, perf.py), so there is nothing to say; without MKL's strict
    mode a product's rounding may follow the count.
    """
    from groklab.perf import blas_is_reproducible

    now = torch.get_num_threads()
    if device.type != "cpu" or saved is None or saved == now or blas_is_reproducible():
        return
    log.warning(
        "run %s was trained at %d threads and resumes at %d; MKL is not in strict "
        "reproducible mode, so the continuation may differ from an uninterrupted run "
        "(pass --threads %d to continue it exactly)",
        run_id,
        saved,
        now,
        saved,
    )


def _evaluate(spec, sinks, state: TrainState, task, measures: MeasureHook | None) -> None:
    metrics = {k: v.cpu().numpy() for k, v in evaluate(state, task, spec).items()}
    if measures is not None:
        metrics.update(measures(state.population.flat.detach(), state.step))
    norms = {k: v.cpu().numpy() for k, v in state.population.layer_norms().items()}
    threshold = spec.train.stop_at_val_acc
    if threshold > 0:
        reached = torch.from_numpy(metrics["val_acc"] >= threshold).to(state.hits.device)
        state.hits = torch.where(reached, state.hits + 1, torch.zeros_like(state.hits))
    emit_eval(sinks, EvalEvent(spec.run_id, state.step, spec.train.steps, metrics, norms))


def _should_stop(spec: RunSpec, state: TrainState) -> bool:
    return spec.train.stop_at_val_acc > 0 and bool((state.hits >= spec.train.stop_patience).all())


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


class _StopFlag:
    """Turns SIGINT into a flag checked between steps (only in the main thread)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True  # the loop saves and stops before the next update

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
