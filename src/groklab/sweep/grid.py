"""A sweep: a grid of spec fields expanded into points, packed into same-shape populations.

Grid axes name spec fields: a member field (`seed`, `train_fraction`, `weight_decay`, ...),
`section.field` (`optim.optimizer`, `data.p`, `model.n_layers`, `train.batch_size`, ...), a bare
section field that no other section has (`optimizer`), or `model.preset` (a named architecture;
other model axes apply on top of it). Names are stored in their canonical form: member fields
bare, section fields as `section.field`.

    sweep = SweepSpec(base, grid=(("train_fraction", (0.3, 0.5)), ("seed", (0, 1))))
    points = expand(sweep)                       # 4 single-member specs, seed varying fastest
    populations = pack(points)                   # 1 population of 4 members (one shape)

A run file for a sweep is a run file (see `groklab.config`) plus `[grid]` and `[sweep]`:

    [data]
    op = "add"
    p = 97
    [grid]
    train_fraction = [0.3, 0.5, 0.7]
    seed = "0-3"                    # seeds also take the `--seeds` syntax
    "optim.optimizer" = ["adamw", "adam"]   # or a subtable: [grid.optim] optimizer = [...]
    [sweep]
    max_members = 64
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from groklab.config import TOP_KEYS, coerce_field, field_types, read_toml, spec_from_dict
from groklab.errors import SpecError
from groklab.spec import PRESETS, SECTIONS, MemberSpec, RunSpec, parse_seeds
from groklab.sweep.registry import BACKENDS

SWEEP_KEYS = (*TOP_KEYS, "grid", "sweep")
SWEEP_FIELDS = ("max_members", "max_runs", "backend")  # and each backend's own keys
PLAN_EVERY = 500  # expand's progress period, in points
MAX_RUNS = 10_000  # grid points a sweep may have unless told more (`--max-runs`, [sweep])

# canonical axis name -> the Python types its values may have
AXIS_TYPES: dict[str, tuple[type, ...]] = {
    **field_types(MemberSpec),
    **{
        f"{section}.{name}": types
        for section, cls in SECTIONS.items()
        for name, types in field_types(cls).items()
    },
    "model.preset": (str,),
}


def axis_name(name: str) -> str:
    """The canonical name of a grid axis: 'optimizer' -> 'optim.optimizer', 'seed' -> 'seed'.

    Raises a one-line SpecError for an unknown or ambiguous name.
    """
    name = str(name)
    if name.startswith("members."):
        name = name.removeprefix("members.")
    if name in AXIS_TYPES:
        return name
    matches = [axis for axis in AXIS_TYPES if axis.partition(".")[2] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SpecError(f"grid field {name!r} is ambiguous; write one of {', '.join(matches)}")
    raise SpecError(f"unknown grid field {name!r}; allowed: {', '.join(AXIS_TYPES)}")


@dataclass(frozen=True)
class SweepSpec:
    """A base spec and a grid over its fields; the base's first member gives member defaults.

    `grid` may be given as a dict; it is stored as ((canonical name, (values...)), ...), each
    value checked for type (ints become floats for float fields, so 1 and 1.0 are one value).
    Whether a value is in range is checked when the grid is expanded (`expand`).
    """

    base: RunSpec
    grid: tuple[tuple[str, tuple], ...] = ()
    max_members: int = 64
    max_runs: int = MAX_RUNS  # more grid points than this are refused before expanding
    # where it runs (not part of any run id): the backend's name and its options by their
    # [sweep] keys (each backend declares its own: local's `workers`, ray's `ray_address`)
    backend: str = "local"
    backend_options: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.base, RunSpec):
            raise SpecError(f"base={self.base!r} is not a RunSpec")
        if isinstance(self.max_members, bool) or not isinstance(self.max_members, int):
            raise SpecError(f"max_members={self.max_members!r} is not an integer")
        if self.max_members < 1:
            raise SpecError(f"max_members={self.max_members} is out of range; allowed: >= 1")
        if isinstance(self.max_runs, bool) or not isinstance(self.max_runs, int):
            raise SpecError(f"max_runs={self.max_runs!r} is not an integer")
        if self.max_runs < 1:
            raise SpecError(f"max_runs={self.max_runs} is out of range; allowed: >= 1")
        self._check_where()
        items = self.grid.items() if isinstance(self.grid, Mapping) else self.grid
        grid: list[tuple[str, tuple]] = []
        for item in items:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise SpecError(f"grid entry {item!r} is not a (field, values) pair")
            name = axis_name(item[0])
            if name in (axis for axis, _ in grid):
                raise SpecError(f"grid field {name!r} is given twice; give it once")
            grid.append((name, _axis_values(name, item[1])))
        object.__setattr__(self, "grid", tuple(grid))

    def _check_where(self) -> None:
        """The backend's name, and each backend option by its backend's own check."""
        if not isinstance(self.backend, str):
            raise SpecError(
                f"[sweep] backend={self.backend!r} is not a name; give one as a string, "
                'e.g. "local"'
            )
        items = self.backend_options
        items = tuple(items.items() if isinstance(items, Mapping) else items)
        known = sweep_backend_options()
        for key, value in items:
            if key not in known:
                allowed = ", ".join((*SWEEP_FIELDS, *known))
                raise SpecError(f"unknown key {key!r} in [sweep]; allowed: {allowed}")
            known[key].checked(value, f"[sweep] {key}")
        object.__setattr__(self, "backend_options", items)

    def options_of(self, backend: str) -> dict[str, object]:
        """This file's options for `backend` by its constructor's keywords (others left out),
        e.g. {"workers": 2} for local."""
        entry = BACKENDS.get(backend)
        given = dict(self.backend_options)
        return {} if entry is None else {o.key: given.get(o.sweep_key) for o in entry.options}

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.grid)

    @property
    def n_points(self) -> int:
        """The product of the axes' lengths, counted without expanding (exact, any size)."""
        return math.prod(len(values) for _, values in self.grid)

    def check_size(self) -> None:
        """Refuse, before expanding, a grid of more than `max_runs` points."""
        if self.n_points > self.max_runs:
            axes = " x ".join(f"{name} {len(values):,}" for name, values in self.grid)
            raise SpecError(
                f"the grid has {self.n_points:,} points ({axes}), more than max_runs="
                f"{self.max_runs:,}; shrink it, or allow it with --max-runs {self.n_points}"
            )


def _axis_values(name: str, values: Any) -> tuple:
    if name == "seed" and isinstance(values, str):
        values = parse_seeds(values)
    values = _from_numpy(values)
    if not isinstance(values, (list, tuple, range)):
        raise SpecError(f"grid {name}={values!r} is not a list; give a list of values, e.g. [1, 2]")
    if len(values) == 0:
        raise SpecError(f"grid {name}=[] is empty; give at least one value")
    checked = tuple(_axis_value(name, v) for v in values)
    seen: set = set()
    for value in checked:  # every value is hashable: scalars, strings, tuples of names
        if value in seen:
            raise SpecError(
                f"grid {name} gives {value!r} twice (the same points would train twice); "
                "give each value once"
            )
        seen.add(value)
    return checked


def _from_numpy(value: Any) -> Any:
    """A numpy array or scalar as Python's list or number, anything else as it is; told by its
    type's module, so reading a sweep file (and the CLI's help) does not import numpy."""
    return value.tolist() if type(value).__module__ == "numpy" else value


def _axis_value(name: str, value: Any) -> Any:
    value = _from_numpy(value)
    value = coerce_field("grid", name, value, AXIS_TYPES[name])
    if name == "model.preset" and value not in PRESETS:
        raise SpecError(
            f"grid model.preset={value!r} is unknown; choose one of {', '.join(PRESETS)}"
        )
    return value


def grid_points(sweep: SweepSpec) -> list[dict[str, Any]]:
    """The grid values of each point, {axis: value}, in product order (last axis fastest);
    a grid of more than `sweep.max_runs` points is refused first (`SweepSpec.check_size`)."""
    sweep.check_size()
    names = sweep.axes
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(values for _, values in sweep.grid))
    ]


def apply_point(base: RunSpec, point: Mapping[str, Any]) -> RunSpec:
    """The single-member spec of one grid point: `base` with the point's values set."""
    by_section: dict[str, dict[str, Any]] = {section: {} for section in (*SECTIONS, "members")}
    for axis, value in point.items():
        section, _, name = axis.rpartition(".")
        by_section[section or "members"][name] = value
    sections = {section: getattr(base, section) for section in SECTIONS}
    if "preset" in by_section["model"]:
        sections["model"] = PRESETS[by_section["model"].pop("preset")]
    for section, values in by_section.items():
        if values and section != "members":
            sections[section] = replace(sections[section], **values)
    member = replace(base.members[0], **by_section["members"])
    return RunSpec(**sections, members=(member,))


def expand(sweep: SweepSpec, progress: Callable[[int, int], None] | None = None) -> list[RunSpec]:
    """The cartesian product of the grid: one single-member spec per point, last axis fastest.

    Example: grid train_fraction [0.3, 0.5] x seed [0, 1] gives (0.3, 0), (0.3, 1), (0.5, 0),
    (0.5, 1). A value out of range raises the spec's own one-line SpecError. `progress` is
    called with (points planned, points) every PLAN_EVERY points and at the end.
    """
    points = grid_points(sweep)
    specs = []
    for i, point in enumerate(points, 1):
        specs.append(apply_point(sweep.base, point))
        if progress is not None and (i % PLAN_EVERY == 0 or i == len(points)):
            progress(i, len(points))
    return specs


def pack_members(
    points: list[RunSpec], max_members: int = 64
) -> tuple[list[RunSpec], list[list[tuple[int, int]]]]:
    """`pack`, plus where each point's members went: [(population index, member index), ...]."""
    if isinstance(max_members, bool) or not isinstance(max_members, int) or max_members < 1:
        raise SpecError(f"max_members={max_members!r} is out of range; allowed: an integer >= 1")
    groups: dict[str, list[tuple[int, MemberSpec]]] = {}  # shape key -> (point, member)
    shapes: dict[str, RunSpec] = {}
    for i, spec in enumerate(points):
        shapes.setdefault(spec.shape_key, spec)
        groups.setdefault(spec.shape_key, []).extend((i, m) for m in spec.members)
    populations: list[RunSpec] = []
    where: list[list[tuple[int, int]]] = [[] for _ in points]
    for key, members in groups.items():
        for start in range(0, len(members), max_members):
            chunk = members[start : start + max_members]
            for k, (i, _) in enumerate(chunk):
                where[i].append((len(populations), k))
            populations.append(replace(shapes[key], members=tuple(m for _, m in chunk)))
    return populations, where


def pack(points: list[RunSpec], max_members: int = 64) -> list[RunSpec]:
    """Merge the members of points sharing a shape into populations of at most `max_members`.

    Populations come in the order their shape first appears, members in point order, so the
    same points always pack the same way (and get the same run ids, so stored results are
    found again). Example: 4 points of one shape, max_members=3 -> populations of 3 and 1.
    """
    return pack_members(points, max_members)[0]


def sweep_from_dict(d: Mapping[str, Any]) -> SweepSpec:
    """A SweepSpec from a parsed TOML document (run-file sections plus [grid] and [sweep])."""
    for key in d:
        if key not in SWEEP_KEYS:
            raise SpecError(f"unknown section {key!r}; allowed: {', '.join(SWEEP_KEYS)}")
    grid, options = d.get("grid", {}), d.get("sweep", {})
    for key, table in (("grid", grid), ("sweep", options)):
        if not isinstance(table, dict):
            raise SpecError(f"{key!r} must be a table like [{key}], not {table!r}")
    known = (*SWEEP_FIELDS, *sweep_backend_options())
    for key in options:
        if key not in known:
            raise SpecError(f"unknown key {key!r} in [sweep]; allowed: {', '.join(known)}")
    fields = {k: v for k, v in options.items() if k in SWEEP_FIELDS}
    backend_options = tuple((k, v) for k, v in options.items() if k not in SWEEP_FIELDS)
    base = spec_from_dict({k: v for k, v in d.items() if k in TOP_KEYS})
    if base.n_members > 1:
        raise SpecError(
            f"[members] gives {base.n_members} members; a sweep takes one value per member "
            "field there: put the values to sweep (e.g. seed) in [grid]"
        )
    return SweepSpec(base, grid=_flatten(grid), backend_options=backend_options, **fields)


def sweep_backend_options() -> dict:
    """{[sweep] key: BackendOption} over every registered backend (sweep/registry.py)."""
    return {o.sweep_key: o for entry in BACKENDS.values() for o in entry.options}


def _flatten(grid: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """TOML reads `model.n_layers = [1, 2]` in [grid] as a subtable; flatten it back."""
    items = []
    for key, value in grid.items():
        if isinstance(value, dict):
            items.extend((f"{key}.{name}", v) for name, v in value.items())
        else:
            items.append((key, value))
    return tuple(items)


def load_sweep(
    path: str | Path,
    *,
    max_runs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepSpec:
    """Read a sweep file and check every point of its grid (nothing has trained yet);
    `max_runs` overrides the file's limit on grid points ([sweep] max_runs, else MAX_RUNS),
    checked before the grid is expanded. `progress` as for `expand`."""
    document = read_toml(path, "sweep file")
    if document.get("grid", {}) == {}:  # no axis (an empty file too): one default run
        raise SpecError(
            f"sweep file {str(path)!r} has no [grid] fields (it would train one default run); "
            "give at least one, e.g. [grid] seed = [0, 1], or train one run with "
            "groklab train --config"
        )
    sweep = sweep_from_dict(document)
    if max_runs is not None:
        sweep = replace(sweep, max_runs=max_runs)
    expand(sweep, progress)  # a bad value fails now, with its own one-line message
    return sweep
