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
(events.py) and saves its resume point through a `Checkpoints`. `train(spec, store)` is
the convenient form: the store's sink first, then the caller's sinks, then `progress`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from groklab.errors import GroklabError
from groklab.events import (
    Checkpoints,
    EvalEvent,
    RunInfo,
    Sink,
    emit_end,
    emit_eval,
    emit_start,
)
from groklab.interrupt import SigintFlag
from groklab.perf import SERIAL_BLAS_DTYPES, serial_blas
from groklab.spec import RunSpec
from groklab.train.options import MeasureHook, TrainOptions
from groklab.train.schedule import is_eval_step
from groklab.train.state import TrainState, init_state, make_task
from groklab.train.step import build_loss_fn, evaluate, train_step

log = logging.getLogger(__name__)


Progress = EvalEvent  # what `progress=` callbacks receive: .step, .steps, .metrics


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


def train_loop(
    spec: RunSpec,
    sinks: Sequence[Sink],
    checkpoints: Checkpoints,
    options: TrainOptions | None = None,
    **fields: object,
) -> tuple[int, bool]:
    """Train `spec` from `checkpoints`' resume point, emitting to `sinks` (events.py says
    which calls come when); returns (step reached, whether the run is done). `options` (or
    its fields as keywords: device=, compile=, ...) say how (train/options.py)."""
    options = (options or TrainOptions()).with_fields(**fields)
    keep_rule, measures = options.keep_checkpoints, options.measures
    checkpoint_every = options.checkpoint_every
    dev = pick_device(options.device)
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
        loss_fn = build_loss_fn(state, task, spec, compile=options.compile)
        kept = keep_rule.steps(spec.train.steps, spec.train.eval_every)
        with serial_blas(dev.type == "cpu" and spec.train.dtype in SERIAL_BLAS_DTYPES):
            _run(spec, sinks, checkpoints, state, task, checkpoint_every, loss_fn, kept, measures)
    return state.step, state.done


def _run(spec, sinks, checkpoints, state, task, checkpoint_every, loss_fn, kept, measures) -> None:
    stop = SigintFlag()  # the loop saves and stops before the next update
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
