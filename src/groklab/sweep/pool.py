"""Populations spread over local worker processes of one thread each.

Each population trains in its own spawned process, which streams its evaluation events and
checkpoints to this process through a pipe while it trains (sweep/stream.py), then sends its
payload; this process alone writes the store, the events as they come and each population's
checkpoint and status as it finishes. So:

- a worker that dies (killed, out of memory) is retried from its last streamed checkpoint, up
  to `MAX_ATTEMPTS` attempts, while the others go on; an error that cannot succeed on a retry
  (bad input, a corrupt checkpoint, a bug) is not retried. Either way each failed run is one
  line, every finished population is stored, and the sweep ends with one line counting the
  failures (exit 2; running the sweep again retries only what is missing);
- workers die with this process (Linux: the kernel sends them SIGTERM when it exits, even
  by kill -9), and remove their scratch stores as they go;
- Ctrl-C (here, or in the terminal, which signals the workers too) makes every worker save
  its population and send it back; the sweep then stops with TrainingInterrupted;
- scratch stores and checkpoint temp files that killed processes left behind are removed
  when a sweep starts and when it ends (sweep/remote.py `remove_stale_scratch`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from pathlib import Path

from groklab.errors import GroklabError
from groklab.events import Sink
from groklab.interrupt import SigintFlag, sigint_ignored
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.sweep.base import SweepProgress
from groklab.sweep.remote import (
    Payload,
    checkpoint_bytes,
    checkpoint_source,
    record_payload,
    remove_stale_scratch,
    train_payload,
)
from groklab.sweep.stream import EventRouter, failures_error
from groklab.train import TrainingInterrupted, TrainOptions, TrainResult

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the driver checks on its workers while it waits
MAX_ATTEMPTS = 3  # a population whose worker dies is started at most this many times
GRACE_S = 120.0  # after Ctrl-C, how long the driver waits for the workers to save
EXIT_S = 30.0  # how long a worker that closed its pipe may take to exit
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_in_processes(
    specs: Sequence[RunSpec],
    workers: int,
    *,
    store_root: Path,
    options: TrainOptions,
    progress: Callable[[SweepProgress], None] | None,
    sinks: Sequence[Sink] = (),
) -> list[TrainResult]:
    remove_stale_scratch(store_root)
    try:
        with RunStore(store_root) as store:
            router = EventRouter(specs, store, sinks, progress)
            pool = WorkerPool(specs, workers, store, router, options.portable())
            return pool.run()
    finally:
        remove_stale_scratch(store_root)


class PipeEvents:
    """Worker side: what QueueSink puts goes down this worker's pipe to the driver."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def put(self, item: tuple) -> None:
        self.conn.send(item)


def worker_main(conn, parent: int, spec_json, options, checkpoint, tag, source) -> None:
    """A worker process: train one population, streaming to `conn`; end with its payload or
    one line saying why it failed (GroklabError: bad input, not worth a retry)."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the loop takes Ctrl-C while it trains
    try:
        payload = train_payload(
            spec_json,
            options,
            checkpoint,
            1,
            events=PipeEvents(conn),
            tag=tag,
            checkpoint_source=source,
        )
        conn.send(("payload", tag, None, payload))
    except GroklabError as e:
        conn.send(("error", tag, None, str(e)))
    except Exception as e:  # a bug or a torch error: it would fail again
        conn.send(("error", tag, None, f"{type(e).__name__}: {e}".splitlines()[0]))
    finally:
        conn.close()


def die_with_parent(parent: int) -> None:
    """Linux: have the kernel send this process SIGTERM when its parent dies (even by
    kill -9); SIGTERM ends it like an error, so its scratch store is removed. Elsewhere
    a thread polls the parent's pid."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            _watch_parent(parent)
    else:
        _watch_parent(parent)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _watch_parent(parent: int) -> None:
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


class Worker:
    def __init__(self, i: int, process, conn) -> None:
        self.i, self.process, self.conn = i, process, conn
        self.outcome: tuple[str, object] | None = None  # ("payload", Payload) | ("error", str)


class WorkerPool:
    """The driver's side: at most `workers` worker processes, one population each."""

    def __init__(
        self, specs, workers: int, store: RunStore, router: EventRouter, options: TrainOptions
    ):
        self.specs, self.workers, self.store, self.router = list(specs), workers, store, router
        self.options = options  # portable: plain data for the spawned workers
        self.context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state
        self.pending = deque(range(len(self.specs)))
        self.running: dict[int, Worker] = {}
        self.attempts = [0] * len(self.specs)
        self.results: list[TrainResult | None] = [None] * len(self.specs)
        self.failures: dict[int, str] = {}
        self.interrupted: list[int] = []

    def run(self) -> list[TrainResult]:
        stop = SigintFlag()
        try:
            with stop:
                while (self.pending or self.running) and not stop.requested:
                    while self.pending and len(self.running) < self.workers:
                        self._start(self.pending.popleft())
                    self._poll()
                if stop.requested:
                    self._save_in_flight(stop)
        finally:
            self._stop_all()
        if stop.requested:
            i = self.interrupted[0] if self.interrupted else 0
            record = self.store.get_run(self.specs[i].run_id)
            raise TrainingInterrupted(self.specs[i].run_id, 0 if record is None else record.step)
        if self.failures:
            raise failures_error(self.failures, len(self.specs))
        return [r for r in self.results if r is not None]

    def _start(self, i: int) -> None:
        spec = self.specs[i]
        self.attempts[i] += 1
        receive, send = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=worker_main,
            args=(
                send,
                os.getpid(),
                canonical_json(spec),
                self.options,
                checkpoint_bytes(self.store, spec),
                i,
                checkpoint_source(self.store, spec),
            ),
            name=f"groklab-worker-{spec.run_id}",
            daemon=True,
        )
        with sigint_ignored():  # inherited: a Ctrl-C while it boots must not kill it
            process.start()
        send.close()  # the worker holds the only writing end: EOF when it exits
        self.running[i] = Worker(i, process, receive)

    def _poll(self, timeout: float = POLL_S) -> None:
        ready = wait([w.conn for w in self.running.values()], timeout=timeout)
        for worker in list(self.running.values()):
            if worker.conn in ready:
                self._receive(worker)

    def _receive(self, worker: Worker) -> None:
        """Handle what the worker sent; when its pipe has closed, its end."""
        try:
            while worker.conn.poll():
                kind, _, _, data = item = worker.conn.recv()
                if kind in ("payload", "error"):
                    worker.outcome = (kind, data)
                else:
                    self.router.handle(item)
        except (EOFError, OSError):  # the worker closed its pipe: it has ended, or is ending
            worker.process.join(EXIT_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            self._finish(worker)

    def _finish(self, worker: Worker) -> None:
        del self.running[worker.i]
        worker.conn.close()
        i, spec = worker.i, self.specs[worker.i]
        if worker.outcome is not None and worker.outcome[0] == "payload":
            payload: Payload = worker.outcome[1]
            self.results[i] = record_payload(self.store, spec, payload)
            self.router.finish(i, payload.status, payload.step)
            if payload.status == "interrupted":
                self.interrupted.append(i)
            return
        if worker.outcome is not None:  # an error a retry would repeat
            self._fail(i, str(worker.outcome[1]))
            return
        why = _death(worker.process.exitcode)
        if self.attempts[i] < MAX_ATTEMPTS:
            record = self.store.get_run(spec.run_id)
            step = 0 if record is None else record.step
            log.warning("run %s: worker %s; retrying from step %d", spec.run_id, why, step)
            self.pending.appendleft(i)
        else:
            self._fail(i, f"worker {why} ({self.attempts[i]} attempts)")

    def _fail(self, i: int, why: str) -> None:
        self.failures[i] = why
        log.warning("run %s failed: %s", self.specs[i].run_id, why)
        self.router.failed(i, self.store)

    def _save_in_flight(self, stop: SigintFlag) -> None:
        """Ctrl-C: ask every worker to save (a terminal has already told them), and record
        what they send back; a second Ctrl-C stops waiting."""
        self.pending.clear()
        for worker in self.running.values():
            _signal(worker.process, signal.SIGINT)
        stop.requested = False
        deadline = time.monotonic() + GRACE_S
        while self.running and not stop.requested and time.monotonic() < deadline:
            self._poll()
        stop.requested = True

    def _stop_all(self) -> None:
        """End every worker still running (SIGTERM: each removes its scratch store)."""
        for worker in self.running.values():
            _signal(worker.process, signal.SIGTERM)
        for worker in self.running.values():
            worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.running.clear()


def _signal(process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, TypeError):  # gone, or never started
        os.kill(process.pid, signum)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"process was killed by {signal.Signals(-exitcode).name}"
    return f"process exited with status {exitcode} before sending its result"
