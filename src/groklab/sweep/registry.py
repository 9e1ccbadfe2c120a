"""The sweep backends by name, as data: each one's options and where its class lives.

An entry names a backend (what --backend and [sweep] backend take), its class as a
"module:class" string, imported when a sweep is built on it, and its options, each with its
constructor's keyword, its command-line flag, its key in a sweep file's [sweep] table, its help
and its check. The commands add each option's flag from here (cli/common.py) and a sweep
file's [sweep] keys are checked here (sweep/grid.py). This module imports nothing of groklab
but `errors` (no numpy, no torch), so building the command line's parser loads neither.

    >>> BACKENDS["local"].options[0].flag, BACKENDS["ray"].options[0].sweep_key
    ('--workers', 'ray_address')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from groklab.errors import GroklabError, SpecError


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
    # "module:class" (imported on first use), or the class itself; called with the given
    # options (by key) and `sinks`, it makes a `Backend` (sweep/base.py)
    make: str | Callable[..., object]
    options: tuple[BackendOption, ...] = ()

    def build(self, sinks: Sequence[object] = (), **given: object) -> object:
        """The backend, its options checked; an option it does not take is refused."""
        keys = {option.key: option for option in self.options}
        for key in given:
            if key not in keys:
                allowed = ", ".join(keys) or "none"
                raise SpecError(f"backend {self.name!r} takes no option {key!r}; its: {allowed}")
        values = {k: keys[k].checked(v, k) for k, v in given.items()}
        return self.maker()(**{k: v for k, v in values.items() if v is not None}, sinks=sinks)

    def maker(self) -> Callable[..., object]:
        """The backend's class, imported here the first time it is asked for."""
        if not isinstance(self.make, str):
            return self.make
        module, _, name = self.make.partition(":")
        return getattr(importlib.import_module(module), name)


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


def _workers(value: object, where: str) -> int:
    try:
        return positive_int(value, where)
    except SpecError as e:
        raise SpecError(f"{e} (1: train in this process)") from None


LOCAL = BackendEntry(
    "local",
    "groklab.sweep.backend:LocalBackend",
    (
        BackendOption(
            "workers",
            "--workers",
            "worker processes of one thread each (default 1: in this process)",
            _workers,
            int,
        ),
    ),
)

RAY = BackendEntry(
    "ray",
    "groklab.sweep.ray_backend:RayBackend",
    (
        BackendOption(
            "address",
            "--ray-address",
            "cluster address (default $RAY_ADDRESS, else a local Ray instance)",
            address,
            toml="ray_address",
        ),
    ),
)

# one line per backend
BACKENDS: dict[str, BackendEntry] = {entry.name: entry for entry in (LOCAL, RAY)}


def backend_entry(name: str) -> BackendEntry:
    """The registry's entry for `name`; an unknown name is one line listing the choices."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise GroklabError(f"backend {name!r} is unknown; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name]
