"""Run a sweep: expand, pack, reuse what the store already holds, train the rest, tabulate.

    result = run_sweep(sweep, "groklab-runs")
    result.where(train_fraction=0.3).column("steps_to_val")      # one value per seed
    write_rows_csv(result.rows, "sweep.csv")

Populations whose run is done in the store are read back, not trained: the same sweep run
twice trains nothing the second time (a run id is the hash of its spec, and packing is
deterministic).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from groklab.analysis import steps_to_threshold
from groklab.errors import GroklabError
from groklab.files import write_text_atomic
from groklab.spec import RunSpec
from groklab.store import RunStore, load_run_checkpoint
from groklab.sweep.backend import LocalBackend, get_backend
from groklab.sweep.base import Backend, ProgressCounter, SweepProgress
from groklab.sweep.grid import SweepSpec, apply_point, axis_name, grid_points, pack_members
from groklab.sweep.stream import failures_error
from groklab.train import TrainOptions, TrainResult

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "run_id",
    "member",
    "steps_to_train",
    "steps_to_val",
    "final_train_acc",
    "final_val_acc",
    "best_val_acc",
    "final_weight_norm",
    "steps_done",
)


@dataclass(frozen=True)
class SweepResult:
    """One row per grid point (in `expand` order): its grid values, then SUMMARY_KEYS.

    `results` holds the populations' TrainResults (with their curves), in packing order; a
    row's `run_id` and `member` say where its curves are.
    """

    rows: list[dict]
    results: list[TrainResult] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(key for row in self.rows for key in row))

    def _key(self, name: str) -> str:
        columns = self.columns
        if name in columns:
            return name
        try:
            key = axis_name(name)  # 'optimizer' finds the 'optim.optimizer' column
        except GroklabError:
            key = None
        if not self.rows:  # nothing left to filter: any name goes
            return key or name
        if key not in columns:
            raise GroklabError(f"no column {name!r} in the sweep; allowed: {', '.join(columns)}")
        return key

    def column(self, name: str) -> np.ndarray:
        """The values of one column, [rows]; a grid axis may be named as in the grid."""
        key = self._key(name)
        values = [row.get(key) for row in self.rows]
        array = np.asarray(values)
        if array.dtype.kind == "U" and not all(isinstance(v, str) for v in values):
            return np.asarray(values, dtype=object)  # e.g. batch_size "full" and 32
        return array

    def where(self, **values: Any) -> SweepResult:
        """The rows matching every value (a list, tuple or set matches any of its items).

        Example: result.where(optimizer="adam", train_fraction=[0.3, 0.5]).
        """
        tests = {self._key(name): value for name, value in values.items()}
        rows = [
            row
            for row in self.rows
            if all(
                row.get(key) in value
                if isinstance(value, (list, tuple, set))
                else row.get(key) == value
                for key, value in tests.items()
            )
        ]
        return replace(self, rows=rows)

    def grouped(self, by: str, column: str) -> dict[Any, np.ndarray]:
        """{value of `by`: the `column` values of its rows}, in first-seen order.

        Example: result.grouped("train_fraction", "steps_to_val") -> {0.3: [..seeds..], ...},
        ready for `groklab.analysis.summarize`.
        """
        keys, values = self.column(by).tolist(), self.column(column)
        return {k: values[[i for i, x in enumerate(keys) if x == k]] for k in dict.fromkeys(keys)}


def run_sweep(
    sweep: SweepSpec,
    store_root: str | Path,
    *,
    backend: str | Backend = "local",
    options: TrainOptions | None = None,
    device: str | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    rewind: bool = False,
) -> SweepResult:
    """Train every population of the sweep not already done in the store; one row per point.
    `options` say how each population trains (train/options.py; `device` is a shorthand for
    its field). `rewind`: a resume point ahead of the store's rows restarts where they end
    (resume.py) instead of failing its run."""
    points = grid_points(sweep)
    result = run_points(
        [apply_point(sweep.base, p) for p in points],
        store_root,
        max_members=sweep.max_members,
        backend=backend,
        options=options,
        device=device,
        progress=progress,
        rewind=rewind,
    )
    rows = [{**point, **row} for point, row in zip(points, result.rows, strict=True)]
    return replace(result, rows=rows)


def run_points(
    points: Sequence[RunSpec],
    store_root: str | Path,
    *,
    max_members: int = 64,
    backend: str | Backend = "local",
    options: TrainOptions | None = None,
    device: str | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    rewind: bool = False,
) -> SweepResult:
    """Pack single-member specs into populations (`pack_members`), train those not done in the
    store, and give one row of SUMMARY_KEYS per point, in order: `run_sweep` for points that are
    not one grid's product. Progress counts every population, the reused ones first.

    Example: run_points([spec_a, spec_b], root, max_members=1) trains each in its own population.
    """
    options = (options or TrainOptions()).with_fields(device=device)
    runner = get_backend(backend)
    populations, locations = pack_members(list(points), max_members)
    if isinstance(runner, LocalBackend):  # tasks are built here (a Ray node builds its own)
        check_populations(populations)  # one that cannot be fails before the store is made
    counter = ProgressCounter(populations)
    results: list[TrainResult | None] = [None] * len(populations)
    with RunStore(store_root) as store:
        for i, spec in enumerate(populations):
            results[i] = stored_result(store, spec)
    pending = [i for i, r in enumerate(results) if r is None]
    if progress is not None:
        for i, r in enumerate(results):
            if r is not None:
                progress(counter.finish(i))
    if pending:
        # The driver writes the store (any backend): it locks every population it will train
        # before the first starts, so a second sweep of the same runs fails before training.
        with (
            RunStore(store_root) as store,
            store.run_lock(*(populations[i].run_id for i in pending)),
        ):
            # a foreign or corrupt checkpoint fails its run here, named, whatever the backend;
            # the other populations still train and are stored
            errors = {i: resume_point_error(store, populations[i], rewind=rewind) for i in pending}
            refused = {i: why for i, why in errors.items() if why is not None}
            runnable = [i for i in pending if i not in refused]
            if len(refused) == 1 and not runnable:  # nothing else to train: just the reason
                raise GroklabError(next(iter(refused.values())))
            for i, why in refused.items():
                log.warning("run %s failed: %s", populations[i].run_id, why)
            try:
                trained = _train(
                    runner, populations, runnable, store_root, options, progress, counter
                )
            except GroklabError as error:
                if not refused:
                    raise
                more = f"; {len(refused)} more refused before training (each said why above)"
                raise GroklabError(f"{error}{more}") from None
        for i, result in zip(runnable, trained, strict=True):
            results[i] = result
        if refused:
            raise failures_error(refused, len(pending))
    done = [r for r in results if r is not None]
    return SweepResult([summary_row(done[j], k) for [(j, k)] in locations], done)


def _train(runner, populations, runnable, store_root, options, progress, counter) -> list:
    """The backend's results for the populations at `runnable` (none to train: no call)."""
    if not runnable:
        return []
    if isinstance(runner, LocalBackend):  # this machine's memory (Ray's is elsewhere)
        check_populations_fit([populations[i] for i in runnable], options.device)
    return runner.run(
        [populations[i] for i in runnable],
        store_root=Path(store_root),
        options=options,
        progress=None if progress is None else _offset(progress, counter, runnable),
    )


def _offset(
    progress: Callable[[SweepProgress], None], counter: ProgressCounter, pending: list[int]
) -> Callable[[SweepProgress], None]:
    """A backend reports over the pending populations; add the ones found done before."""
    before = counter.event()

    def report(event: SweepProgress) -> None:
        progress(
            SweepProgress(
                populations_done=before.populations_done + event.populations_done,
                populations=before.populations,
                members_done=before.members_done + event.members_done,
                members=before.members,
                step=before.step + event.step,
                steps=before.steps,
            )
        )

    return report


def check_populations(populations: Sequence[RunSpec]) -> None:
    """Build each population's task (on the CPU) so that what only the data can tell (n_train
    larger than the data set, a loss that does not fit it) fails before anything is written."""
    import torch

    from groklab.train.state import check_parameter_groups, make_task

    for spec in populations:
        check_parameter_groups(spec, make_task(spec, torch.device("cpu")))


def check_populations_fit(populations: Sequence[RunSpec], device: str | None) -> None:
    """Refuse, before anything trains, a population too big for this machine's memory."""
    from groklab.data.datasets import make_dataset
    from groklab.train.memory import check_memory

    datasets: dict = {}  # one data set per DataSpec, however many populations share it
    for spec in populations:
        if spec.data not in datasets:
            datasets[spec.data] = make_dataset(spec.data)
        check_memory(spec, device, datasets[spec.data])


def check_resume_point(store: RunStore, run_id: str) -> None:
    """A run's resume point, if it has one, must be its own (store/checkpoint.py)."""
    path = store.checkpoint_path(run_id)
    if path.exists():
        load_run_checkpoint(path, run_id, mmap=True)  # tensors mapped, not read


def resume_point_error(store: RunStore, spec: RunSpec, *, rewind: bool = False) -> str | None:
    """Why `spec`'s resume point cannot be used (one line naming the file), or None: not the
    run's own, or ahead of the store's rows (moved back first with `rewind`, resume.py).
    The caller holds the run's lock."""
    from groklab.run import check_resume_point as check_rows

    try:
        check_resume_point(store, spec.run_id)
        check_rows(store, spec, rewind=rewind)
    except GroklabError as error:
        return str(error)
    return None


def stored_result(store: RunStore, spec: RunSpec) -> TrainResult | None:
    """The result of `spec` read back from the store if its run is done there, else None."""
    record = store.get_run(spec.run_id)
    if record is None or record.status != "done":
        return None
    curves = store.read_curves(spec.run_id)
    return TrainResult(
        run_id=spec.run_id,
        step=record.step,
        status="done",
        curves=curves,
        steps_to_train=np.atleast_1d(steps_to_threshold(curves["step"], curves["train_acc"])),
        steps_to_val=np.atleast_1d(steps_to_threshold(curves["step"], curves["val_acc"])),
    )


def summary_row(result: TrainResult, member: int) -> dict[str, Any]:
    """SUMMARY_KEYS for one member of a population's result; nan where never evaluated."""
    curves = result.curves
    val = curves["val_acc"][member]  # [S]
    return {
        "run_id": result.run_id,
        "member": member,
        "steps_to_train": float(result.steps_to_train[member]),
        "steps_to_val": float(result.steps_to_val[member]),
        "final_train_acc": _last(curves["train_acc"][member]),
        "final_val_acc": _last(val),
        "best_val_acc": float(np.nanmax(val)) if np.isfinite(val).any() else float("nan"),
        "final_weight_norm": _last(curves["weight_norm"][member]),
        "steps_done": int(result.step),
    }


def _last(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def write_rows_csv(rows: list[dict], path: str | Path) -> None:
    """Write rows as CSV, atomically; the header is every key in first-seen order."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(Path(path), buffer.getvalue())
