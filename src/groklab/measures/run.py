"""Measures over a run: at every kept checkpoint (`measure_run`), or during training
(`training_measures`, a callable the train loop calls at each evaluation).

`measure_run` resumes: a (step, measure) whose values are all stored is skipped, and each step's
values are written in one transaction, so an interrupted call loses at most the step it was on.

    >>> from groklab.measures.run import measure_run
    >>> measure_run(store, "r-0123456789", ["fourier_embed", "restricted_loss"])
    MeasureRunResult(run_id='r-0123456789', steps=[0, 100, ...], computed=24, skipped=0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from torch import Tensor

from groklab.config import spec_from_json
from groklab.errors import GroklabError
from groklab.loader import build_member, checkpoint_at, member_task
from groklab.measures import ALIASES, MEASURES, MeasureInfo
from groklab.measures.llc import SGLDSpec
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.train.state import make_task


@dataclass(frozen=True)
class MeasureRunResult:
    run_id: str
    steps: list[int]  # the checkpoints measured
    computed: int  # (step, measure) pairs computed now
    skipped: int  # (step, measure) pairs found already stored


def choose_measures(spec: RunSpec, names: Sequence[str] | None, *, cheap: bool = False) -> list:
    """The MeasureInfos `names` asks for (None: every registered one that applies to `spec`,
    the cheap ones only if `cheap`); an unknown name or one that does not apply is an error."""
    if names is None:
        return [m for m in MEASURES.values() if m.applies(spec) and (m.cheap or not cheap)]
    chosen = []
    for name in dict.fromkeys(ALIASES.get(n, n) for n in names):
        if name not in MEASURES:
            raise GroklabError(
                f"--measures: {name!r} is not a measure; choose from {', '.join(MEASURES)}"
            )
        info = MEASURES[name]
        if not info.applies(spec):
            fits = ", ".join(m.name for m in MEASURES.values() if m.applies(spec)) or "none"
            raise GroklabError(
                f"--measures: {name!r} does not apply to {spec.summary()}; those that do: {fits}"
            )
        if cheap and info.final:
            step_keys = f"{name}_step_keys"
            instead = f"; {step_keys} is its per-step variant" if step_keys in MEASURES else ""
            raise GroklabError(
                f"--measures: {name!r} reads the run's final state, so it runs after training "
                f"(groklab measure RUN --measures {name}){instead}"
            )
        if cheap and not info.cheap:
            fits = ", ".join(m.name for m in MEASURES.values() if m.applies(spec) and m.cheap)
            raise GroklabError(
                f"--measures: {name!r} is too costly for every evaluation; use groklab measure "
                f"after training (cheap ones: {fits or 'none'})"
            )
        chosen.append(info)
    return chosen


def measure_run(
    store: RunStore,
    run_id: str,
    names: Sequence[str] | None = None,
    *,
    llc: SGLDSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MeasureRunResult:
    """Compute `names` (None: all that apply) for every member at every kept checkpoint of
    `run_id` (and at the resume point, if it is not kept), writing them to `store`; `llc` is
    the sampler of the llc measure (None: SGLDSpec's defaults). A stored step is skipped only
    if it was made with the same settings (a measure's `settings` values), so a second call
    with more draws recomputes. `progress(done, total)` is called after each step. It holds the
    run's lock throughout, so it never runs beside a trainer of the run (RunLockedError, one
    line, nothing written)."""
    run_id = store.resolve(run_id)
    spec = run_spec(store, run_id)
    chosen = [with_sampler(info, llc) for info in choose_measures(spec, names)]
    with store.run_lock(run_id):  # a run another process trains (or measures) is refused
        return _measure(store, spec, run_id, chosen, progress)


def _measure(store, spec, run_id, chosen, progress) -> MeasureRunResult:
    steps = _steps(store, run_id)
    stored = _stored(store, run_id)
    task = make_task(spec, torch.device("cpu"))
    known: dict[str, dict[str, float]] = {}  # measure -> member 0's values at the first step
    computed = skipped = 0
    finals = _FinalMembers(store, spec, task, run_id, steps[-1])
    for done, step in enumerate(steps, 1):
        state = None
        todo = []
        for info in chosen:
            if info.name not in known:
                state = state or checkpoint_at(store, run_id, step)[0]
                model = build_member(spec, task, state["flat"][0])
                view = member_task(task, spec, run_id, 0, step)
                known[info.name] = _call(info, model, view, finals, 0)
            if _is_stored(stored, step, info, known[info.name]):
                skipped += 1
            else:
                todo.append(info)
        if todo:
            state = state or checkpoint_at(store, run_id, step)[0]
            reuse = known if step == steps[0] else {}  # measures are deterministic: once
            values = _values(spec, task, run_id, step, state, todo, finals, reuse)
            store.write_metrics(run_id, step, values)
            computed += len(todo)
        if progress is not None:
            progress(done, len(steps))
    return MeasureRunResult(run_id, steps, computed, skipped)


def with_sampler(info: MeasureInfo, sampler: SGLDSpec | None) -> MeasureInfo:
    """`info`, or the llc measure at `sampler`'s settings."""
    if info.name != "llc" or sampler is None:
        return info
    return replace(info, fn=partial(info.fn, sampler=sampler))


def _is_stored(stored: dict, step: int, info: MeasureInfo, probe: dict[str, float]) -> bool:
    """Every value of `info` is stored at `step` for every member, made with the settings
    `probe` (member 0's values now) names: member 0's stored settings equal them."""
    rows = [stored.get((step, name)) for name in probe]
    if any(row is None or not row[0] for row in rows):
        return False
    return all(stored[(step, name)][1] == probe[name] for name in info.settings)


def run_spec(store: RunStore, run_id: str) -> RunSpec:
    return spec_from_json(store.get_run(store.resolve(run_id)).spec_json)


def _steps(store: RunStore, run_id: str) -> list[int]:
    steps = list(store.kept_checkpoints(run_id))
    if store.checkpoint_path(run_id).exists():
        _, latest = checkpoint_at(store, run_id, None)
        steps = sorted({*steps, latest})
    if not steps:
        raise GroklabError(f"run {run_id} has no checkpoint yet (train it first)")
    return steps


def _stored(store: RunStore, run_id: str) -> dict[tuple[int, str], tuple[bool, float]]:
    """(step, name) -> (whether every member has a value, member 0's value)."""
    curves = store.read_measures(run_id)
    out: dict[tuple[int, str], tuple[bool, float]] = {}
    for name, values in curves.items():
        if name == "step":
            continue
        full = np.isfinite(values).all(0)  # [S]
        for step, ok, first in zip(curves["step"].tolist(), full, values[0], strict=True):
            out[(int(step), name)] = (bool(ok), float(first))
    return out


def _values(spec, task, run_id, step, state, todo, finals, reuse) -> dict:
    """{value name: [M]} of the measures `todo` for every member at `step`; `reuse` holds
    member 0's values of some of them, computed already."""
    rows: dict[str, list[float]] = {}
    for member in range(spec.n_members):
        model = build_member(spec, task, state["flat"][member])
        view = member_task(task, spec, run_id, member, step)
        for info in todo:
            done = reuse.get(info.name) if member == 0 else None
            values = done if done is not None else _call(info, model, view, finals, member)
            for name, value in values.items():
                rows.setdefault(name, []).append(float(value))
    return {name: np.asarray(v) for name, v in rows.items()}


def _call(info: MeasureInfo, model, view, finals: _FinalMembers, member: int) -> dict:
    return info.fn(model, view, finals.member(member)) if info.final else info.fn(model, view)


class _FinalMembers:
    """Each member at the run's last measured step, loaded on first use (a measure with
    final=True reads it, e.g. the final model's key frequencies)."""

    def __init__(self, store, spec, task, run_id: str, step: int) -> None:
        self.store, self.spec, self.task, self.run_id, self.step = store, spec, task, run_id, step
        self.members: dict[int, object] = {}  # built once, read at every step

    def member(self, i: int):
        if not self.members:
            flat = checkpoint_at(self.store, self.run_id, self.step)[0]["flat"]
            self.members = {
                m: build_member(self.spec, self.task, row) for m, row in enumerate(flat)
            }
        return self.members[i]


def training_measures(
    spec: RunSpec, names: Sequence[str] | None
) -> Callable[[Tensor, int], dict[str, np.ndarray]]:
    """A callable for `train(..., measures=...)`: the cheap measures `names` (None: all cheap
    ones that apply) of each member's weights `flat` [M, P] at an evaluation step, {name: [M]}.
    Checks the names now, before any training."""
    chosen = choose_measures(spec, names, cheap=True)
    task = make_task(spec, torch.device("cpu"))

    def measure(flat: Tensor, step: int) -> dict[str, np.ndarray]:
        rows: dict[str, list[float]] = {}
        for member in range(spec.n_members):
            model = build_member(spec, task, flat[member].detach().cpu())
            view = member_task(task, spec, spec.run_id, member, step)
            for info in chosen:
                for name, value in info.fn(model, view).items():
                    rows.setdefault(name, []).append(float(value))
        return {name: np.asarray(v) for name, v in rows.items()}

    return measure
