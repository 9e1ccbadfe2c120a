"""The plug-ins' knobs (groklab/plugins.py) as spec fields: made, checked and told apart.

`with_knobs("optim")` under `@dataclass` adds every knob of that section as a field after the
class's own, with its declared type and default; the class's `__post_init__` calls
`check_knobs(self, "optim")` before `store_floats`, so a knob is checked as any other field.

Example:
    >>> @dataclass(frozen=True)
    ... @with_knobs("members")
    ... class MemberSpec:
    ...     seed: int = 0
    >>> MemberSpec().grokfast_ema_lamb
    2.0
"""

from __future__ import annotations

from collections.abc import Callable

from groklab.plugins import Knob, knobs
from groklab.spec.checks import check_bool, check_float, check_int


def with_knobs(section: str) -> Callable[[type], type]:
    """A class decorator, under `@dataclass`: the section's knobs become fields of the class."""

    def add(cls: type) -> type:
        own = dict(cls.__dict__.get("__annotations__", {}))
        for knob in knobs(section):
            if knob.name in own:
                raise TypeError(f"knob {knob.name!r} is also a field of {cls.__name__}")
            own[knob.name] = knob.type.__name__  # as `from __future__ import annotations` writes it
            setattr(cls, knob.name, knob.default)
        cls.__annotations__ = own
        return cls

    return add


def check_knob(knob: Knob, value: object) -> None:
    """A one-line SpecError where `value` is not of the knob's type or outside its range."""
    if knob.type is bool:
        check_bool(knob.name, value)
    elif knob.type is int:
        check_int(knob.name, value, int(knob.lo), None if knob.hi is None else int(knob.hi))
    else:
        check_float(knob.name, value, knob.lo, knob.hi, open_lo=knob.open_lo, open_hi=knob.open_hi)


def check_knobs(spec: object, section: str) -> None:
    for knob in knobs(section):
        check_knob(knob, getattr(spec, knob.name))


def late_knobs(section: str) -> tuple[str, ...]:
    """The knobs of `section` left out of the canonical JSON at their default."""
    return tuple(knob.name for knob in knobs(section) if knob.late)
