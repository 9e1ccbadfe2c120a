"""What every backend shares: the `Backend` seam, its registry entry, and sweep-wide progress.

A backend is one module: its class (the `Backend` protocol) and one `BackendEntry` naming the
options it takes, each with its command-line flag, its key in a sweep file's [sweep] table,
its help and its check. `sweep/backend.py` lists the entries (BACKENDS, one line each); the
commands add each option's flag from there and a sweep file's [sweep] keys are checked there,
so a new backend touches its own module and that one line.

Progress counts member-steps over all the populations a backend was given: a population of 4
members at step 10 of 20 has done 40 of its 80. A population that stops early (it reached
`stop_at_val_acc`) counts as having done all of its steps when it finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from groklab.errors import SpecError
from groklab.spec import RunSpec
from groklab.train import TrainOptions, TrainResult


@dataclass(frozen=True)
class SweepProgress:
    populations_done: int
    populations: int
    members_done: int  # members of the populations done
    members: int
    step: int  # member-steps done, over all populations
    steps: int  # member-steps in all populations (sum of n_members * train.steps)


@runtime_checkable
class Backend(Protocol):
    """Trains populations and returns one TrainResult each, in order, with their metrics in
    the store at `store_root`; `options` say how each trains (device, kept checkpoints ...)."""

    def run(
        self,
        specs: Sequence[RunSpec],
        *,
        store_root: Path,
        options: TrainOptions,
        progress: Callable[[SweepProgress], None] | None,
    ) -> list[TrainResult]: ...


class ProgressCounter:
    """Turns per-population events into sweep-wide SweepProgress (for any backend)."""

    def __init__(self, specs: Sequence[RunSpec]) -> None:
        self.specs = list(specs)
        self.done: set[int] = set()
        self.current: dict[int, int] = {}  # population index -> its step, while it runs

    def at(self, i: int, step: int) -> SweepProgress:
        """Population `i` is at `step`."""
        self.current[i] = step
        return self.event()

    def finish(self, i: int) -> SweepProgress:
        """Population `i` is done (trained, or found done in the store)."""
        self.current.pop(i, None)
        self.done.add(i)
        return self.event()

    def event(self) -> SweepProgress:
        size = [spec.n_members for spec in self.specs]
        budget = [spec.n_members * spec.train.steps for spec in self.specs]
        running = sum(size[i] * step for i, step in self.current.items())
        return SweepProgress(
            populations_done=len(self.done),
            populations=len(self.specs),
            members_done=sum(size[i] for i in self.done),
            members=sum(size),
            step=sum(budget[i] for i in self.done) + running,
            steps=sum(budget),
        )


@dataclass(frozen=True)
class BackendOption:
    """One setting of a backend: its constructor's keyword, its flag, its [sweep] key."""

    key: str  # e.g. "workers", "address"
    flag: str  # e.g. "--workers", "--ray-address"
    help: str
    check: Callable[[object, str], object]  # (value, how it was given) -> value, or SpecError
    kind: type = str  # what argparse makes of the flag's text
    toml: str = ""  # its key in [sweep] when not `key`, e.g. "ray_address"

    @property
    def sweep_key(self) -> str:
        return self.toml or self.key

    @property
    def dest(self) -> str:
        """The flag's attribute on argparse's namespace: "--ray-address" -> "ray_address"."""
        return self.flag.lstrip("-").replace("-", "_")

    def checked(self, value: object, where: str) -> object:
        """`value` as given by `where` ("--workers", "[sweep] workers"), or a one-line
        SpecError naming it; None (not given) passes."""
        return None if value is None else self.check(value, where)


@dataclass(frozen=True)
class BackendEntry:
    name: str  # what --backend and [sweep] backend take
    make: Callable[..., Backend]  # called with the given options (by key) and `sinks`
    options: tuple[BackendOption, ...] = ()

    def build(self, sinks: Sequence[object] = (), **given: object) -> Backend:
        """The backend, its options checked; an option it does not take is refused."""
        keys = {option.key: option for option in self.options}
        for key in given:
            if key not in keys:
                allowed = ", ".join(keys) or "none"
                raise SpecError(f"backend {self.name!r} takes no option {key!r}; its: {allowed}")
        values = {k: keys[k].checked(v, k) for k, v in given.items()}
        return self.make(**{k: v for k, v in values.items() if v is not None}, sinks=sinks)


def given_as(where: str, value: object) -> str:
    """How the user wrote it: '--workers 0' on the command line, "[sweep] workers='2'" in a
    sweep file."""
    return f"{where} {value}" if where.startswith("--") else f"{where}={value!r}"


def positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{given_as(where, value)} is not allowed; give a positive integer")
    return value


def address(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{given_as(where, value)} is not an address; give host:port or auto")
    return value
