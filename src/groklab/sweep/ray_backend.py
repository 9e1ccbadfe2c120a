"""Populations as Ray tasks, on an existing cluster or on a local Ray instance started for you.

    groklab sweep sweep.toml --backend ray                        # local instance
    groklab sweep sweep.toml --backend ray --ray-address auto     # the cluster (or RAY_ADDRESS)

Each task trains one population in a scratch store on its node, streams its evaluation events
and checkpoints to the driver through a Ray queue while it trains, and returns a payload
(curves and checkpoint bytes); the driver alone writes the store. A task that fails in a way
a retry may mend (its worker died, a node was lost, an unexpected exception) is retried by Ray
(`max_retries`) from the last checkpoint the driver holds; the driver keeps only the last
attempt's events (sweep/stream.py), so metrics are neither lost nor written twice. An error
that cannot succeed on a retry (a GroklabError: bad input, a corrupt checkpoint) comes back
as a value, `TaskFailed`, and is not retried. A failed population is one line naming the
driver's own files (never a worker's scratch path); the others finish and are stored, and
the sweep ends with one line counting the failures. Restarting an interrupted sweep submits
only what is missing.
Ray is an optional extra: `pip install 'groklab[ray]'`. On a cluster, groklab must be
importable on every node (installed there, or shipped with a Ray runtime_env).
Its entry (--ray-address, [sweep] ray_address) is the `RAY` line of sweep/registry.py.

A local instance keeps its session files, sockets included, under `$RAY_TMPDIR/ray`, else
`$TMPDIR/ray`, else `/tmp/ray`; a socket's path may not pass 107 bytes, so under a deep
`$TMPDIR` Ray cannot start. There groklab gives Ray a short folder of its own
(`/tmp/groklab-ray-<uid>`) and says so in one line (`ray_temp_dir`).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from groklab.errors import GroklabError
from groklab.events import Sink
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore
from groklab.sweep.base import SweepProgress
from groklab.sweep.remote import (
    checkpoint_bytes,
    checkpoint_source,
    record_payload,
    remove_stale_scratch,
    train_payload,
)
from groklab.sweep.stream import EventRouter, failures_error
from groklab.train import TrainResult
from groklab.train.options import TrainOptions

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the driver drains the event queue while it waits

SOCKET_PATH_MAX = 107  # bytes of an AF_UNIX socket's path (sun_path less its closing NUL)
# the longest path Ray puts under its temp root: a session folder's socket (pid up to 2**22)
RAY_SOCKET_TAIL = "/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store.99"
SHORT_TEMP_BASE = "/tmp"


def ray_temp_dir(
    environ: Mapping[str, str] = os.environ, *, short_base: str = SHORT_TEMP_BASE
) -> str | None:
    """The temp root to give a local Ray instance: None where Ray's own default leaves its
    socket paths within 107 bytes, else `<short_base>/groklab-ray-<uid>` (created if missing;
    a folder of another user's is refused). An explicit $RAY_TMPDIR that is too long is the
    user's choice: a one-line error.

    Example: TMPDIR=/home/me/tmp -> None (Ray's /home/me/tmp/ray/session_.../sockets/... fits);
    TMPDIR of 80 characters -> "/tmp/groklab-ray-1000".
    """
    budget = SOCKET_PATH_MAX - len(RAY_SOCKET_TAIL)
    explicit = environ.get("RAY_TMPDIR")
    linux_tmp = environ.get("TMPDIR") if sys.platform.startswith("linux") else None
    root = os.path.join(explicit or linux_tmp or "/tmp", "ray")  # as Ray picks it
    if len(os.fsencode(root)) <= budget:
        return None
    if explicit is not None:
        raise GroklabError(
            f"RAY_TMPDIR={explicit} is too long for Ray's socket paths; allowed: a folder of at "
            f"most {budget - len('/ray')} bytes (Ray adds up to {len('/ray' + RAY_SOCKET_TAIL)},"
            f" a socket's path takes at most {SOCKET_PATH_MAX})"
        )
    return _own_folder(os.path.join(short_base, f"groklab-ray-{os.getuid()}"), root, budget)


def _own_folder(path: str, default: str, budget: int) -> str:
    """`path`, created if missing, as a folder of this user's alone; else a one-line error."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError as e:
        info, why = None, e.strerror
    else:
        why = "it is not a folder of this user's alone"
    if info is not None and stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
        return path
    raise GroklabError(
        f"Ray's socket paths under {default} would pass {SOCKET_PATH_MAX} bytes and {path} "
        f"cannot stand in ({why}); allowed: RAY_TMPDIR set to a folder of at most "
        f"{budget - len('/ray')} bytes"
    )


def import_ray():
    try:
        import ray
    except ImportError:
        raise GroklabError(
            "the ray backend needs Ray: pip install 'groklab[ray]' (or pick --backend local)"
        ) from None
    return ray


@dataclass(frozen=True)
class TaskFailed:
    """What a task returns instead of raising a GroklabError, so that Ray does not retry it."""

    message: str


def errors_as_values(task: Callable[..., object]) -> Callable[..., object]:
    """`task`, with a GroklabError (bad input, a corrupt file: the same again on a retry)
    returned as TaskFailed; any other exception still raises, and Ray retries it."""

    def run(*args, **kwargs):
        try:
            return task(*args, **kwargs)
        except GroklabError as e:
            return TaskFailed(" ".join(str(e).splitlines()))  # one line, whatever it said

    return run


class RayBackend:
    def __init__(
        self,
        address: str | None = None,
        max_retries: int = 2,
        cpus_per_task: float = 1.0,
        task: Callable[..., object] = train_payload,
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.max_retries = max_retries
        self.cpus_per_task = cpus_per_task
        self.task = task  # what a worker runs; the default trains and returns a Payload
        self.sinks = tuple(sinks)  # mirrors fed, after the store, with the streamed events
        self.ray = import_ray()

    def _init(self) -> None:
        if self.ray.is_initialized():
            return
        if self.address:  # an existing cluster
            self.ray.init(address=self.address, log_to_driver=False)
        else:  # a local instance, stopped when this process exits
            temp_dir = ray_temp_dir()
            if temp_dir is not None:
                log.warning(
                    "Ray's session files are under %s (under $TMPDIR its socket paths would "
                    "pass %d bytes)",
                    temp_dir,
                    SOCKET_PATH_MAX,
                )
            self.ray.init(include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        options: TrainOptions,
        progress: Callable[[SweepProgress], None] | None = None,
    ) -> list[TrainResult]:
        self._init()
        from ray.util.queue import Queue

        gpu = options.device is not None and str(options.device).startswith("cuda")
        on_node = replace(options.portable(), device="cuda" if gpu else "cpu")
        task = self.ray.remote(errors_as_values(self.task)).options(
            max_retries=self.max_retries,
            retry_exceptions=True,  # a GroklabError never reaches Ray: it is a TaskFailed
            num_cpus=self.cpus_per_task,
            num_gpus=1 if gpu else 0,
        )
        results: list[TrainResult | None] = [None] * len(specs)
        failures: dict[int, str] = {}
        events = Queue(actor_options={"num_cpus": 0})
        remove_stale_scratch(store_root)
        with RunStore(store_root) as store:
            router = EventRouter(specs, store, self.sinks, progress)
            refs = {
                task.remote(
                    canonical_json(spec),
                    on_node,
                    checkpoint_bytes(store, spec),
                    max(1, int(self.cpus_per_task)),
                    events=events,
                    tag=i,
                    checkpoint_source=checkpoint_source(store, spec),
                ): i
                for i, spec in enumerate(specs)
            }
            pending = list(refs)
            try:
                while pending:
                    finished, pending = self.ray.wait(pending, num_returns=1, timeout=POLL_S)
                    router.drain(events)  # a task's events are all queued before it returns
                    for ref in finished:
                        self._record(store, router, specs, refs[ref], ref, results, failures)
            finally:
                events.shutdown()
                remove_stale_scratch(store_root)
        if failures:
            raise failures_error(failures, len(specs))
        return [r for r in results if r is not None]

    def _record(self, store, router, specs, i, ref, results, failures) -> None:
        try:
            payload = self.ray.get(ref)
        except self.ray.exceptions.RayError as e:  # retries spent, or the worker was lost
            payload = TaskFailed(_one_line(e))
        if isinstance(payload, TaskFailed):
            failures[i] = payload.message
            log.warning("run %s failed: %s", specs[i].run_id, payload.message)
            router.failed(i, store)
            return
        results[i] = record_payload(store, specs[i], payload)
        router.finish(i, payload.status, payload.step)


def _one_line(error: Exception) -> str:
    """A Ray error as one line: the task's own exception where there is one."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        text = str(cause).strip().splitlines()
        return f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
