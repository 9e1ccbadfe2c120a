"""The checks every spec field goes through: one line naming the bad value and what is allowed."""

from __future__ import annotations

import math
import re
from dataclasses import fields

from groklab.errors import SpecError


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"{name}={value!r} is not allowed; choose one of {', '.join(choices)}")


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name}={value!r} is not an integer")
    if value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise SpecError(f"{name}={value} is out of range; allowed: {allowed}")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"{name}={value!r} is not true or false")


def check_float(
    name: str,
    value: object,
    lo: float,
    hi: float | None = None,
    *,
    open_lo: bool = False,
    open_hi: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"{name}={value!r} is not a finite number")
    bad_lo = value <= lo if open_lo else value < lo
    bad_hi = hi is not None and (value >= hi if open_hi else value > hi)
    if bad_lo or bad_hi:
        left, right = "(" if open_lo else "[", ")" if open_hi else "]"
        raise SpecError(
            f"{name}={value} is out of range; allowed: {left}{lo}, "
            f"{'inf' if hi is None else hi}{right}"
        )


def store_floats(spec: object) -> None:
    """Keep float fields as float, so 1 and 1.0 give one canonical JSON (and one run id)."""
    for f in fields(spec):
        if f.type == "float":
            object.__setattr__(spec, f.name, float(getattr(spec, f.name)))


def check_names(name: str, value: object, choices: tuple[str, ...]) -> tuple[str, ...]:
    """An ordered list of distinct choices, from a tuple, a list or 'a,b' -> ('a', 'b')."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SpecError(
            f"{name}={value!r} is not a list of names; choose from {', '.join(choices)}"
        )
    for v in value:
        check_choice(name, v, choices)
    if len(set(value)) != len(value):
        raise SpecError(f"{name}={list(value)!r} names one twice; each may appear once")
    return tuple(value)


_GROUP = re.compile(r"[a-z_][a-z0-9_]*")


def check_group_values(name: str, value: object, lo: float = 0.0) -> tuple[str, ...]:
    """Per-parameter-group values "group=number", from a tuple, a list or 'a=1e-3,b=0', as
    canonical "group=<float repr>" sorted by group (one spelling, one run id):
    ('decoder=0.0001', 'representation=0.001')."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{name}={value!r} is not a list of group=value, e.g. 'decoder=1e-4'")
    parsed: dict[str, float] = {}
    for item in value:
        group, eq, number = item.partition("=")
        group = group.strip()
        try:
            x = float(number)
        except ValueError:
            x = math.nan
        if not eq or not _GROUP.fullmatch(group) or not math.isfinite(x) or x < lo:
            raise SpecError(
                f"{name}: {item!r} is not group=value with a group name (a-z, 0-9, _) and a "
                f"finite number >= {lo:g}, e.g. 'decoder=1e-4'"
            )
        if group in parsed:
            raise SpecError(f"{name}: group {group!r} is given twice; each may appear once")
        parsed[group] = x
    return tuple(f"{g}={parsed[g]!r}" for g in sorted(parsed))


def group_values(entries: tuple[str, ...]) -> dict[str, float]:
    """('decoder=0.0001',) -> {'decoder': 0.0001}."""
    return {g: float(v) for g, _, v in (e.partition("=") for e in entries)}
