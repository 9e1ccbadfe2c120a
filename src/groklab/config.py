"""RunSpec <-> plain dicts <-> TOML files; unknown keys are errors that list the allowed ones.

A run file looks like this (every key optional; `preset` starts the model from a named
architecture; member fields take a scalar or a list, lists of equal length):

    [data]
    op = "div"
    p = 97
    [model]
    preset = "power2022"
    [train]
    steps = 5000
    [members]
    seed = "0-3"
    train_fraction = 0.5
"""

from __future__ import annotations

import json
import sys
import types
import typing
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from groklab.catalog import DATASETS
from groklab.errors import GroklabError, SpecError
from groklab.files import write_text_atomic
from groklab.spec import (
    DATA_DEFAULTS,
    MEMBER_FIELDS,
    PRESET_LAYOUTS,
    PRESETS,
    SECTIONS,
    DataSpec,
    MemberSpec,
    ModelSpec,
    RunSpec,
    members_from,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = (*SECTIONS, "members")


def field_types(cls: type) -> dict[str, tuple[type, ...]]:
    """The Python types each field of a spec dataclass accepts (from its annotations)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        out[f.name] = tuple(args)
    return out


def coerce_field(section: str, key: str, value: Any, allowed: tuple[type, ...]) -> Any:
    """The value as the field's type (an int where only float is allowed becomes a float, so 1
    and 1.0 give one run id); a value of another type is a one-line SpecError."""
    if any(typing.get_origin(t) is tuple for t in allowed):  # a list of names: the spec checks it
        if isinstance(value, str) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        ):
            return tuple(value) if isinstance(value, list) else value
        raise SpecError(f"[{section}] {key}={value!r} has the wrong type; expected a list of names")
    if (
        float in allowed
        and int not in allowed
        and isinstance(value, int)
        and not isinstance(value, bool)
    ):
        return float(value)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        names = " or ".join(t.__name__ for t in allowed)
        raise SpecError(f"[{section}] {key}={value!r} has the wrong type; expected {names}")
    return value


def section_from_dict(section: str, values: dict[str, Any], base: Any | None = None) -> Any:
    cls = SECTIONS[section]
    types_ = field_types(cls)
    if section == "optim" and "groups" in values:
        values = _optim_groups(values)
    extra = {"preset"} if section == "model" else set()
    for key in values:
        if key not in types_ and key not in extra:
            allowed = ", ".join([*types_, *sorted(extra)])
            raise SpecError(f"unknown key {key!r} in [{section}]; allowed: {allowed}")
    values = dict(values)
    if section == "model" and "preset" in values:
        base = preset_model(values.pop("preset"))
    kwargs = {k: coerce_field(section, k, v, types_[k]) for k, v in values.items()}
    if section == "data":
        _check_read(kwargs, kwargs.get("dataset", getattr(base, "dataset", "table")))
    return replace(base, **kwargs) if base is not None else cls(**kwargs)


GROUP_KEYS = {"lr": "group_lr", "weight_decay": "group_weight_decay"}


def _optim_groups(values: dict[str, Any]) -> dict[str, Any]:
    """`[optim.groups.representation] lr = 1e-3, weight_decay = 0` as the flat fields
    `group_lr = ["representation=0.001"]`, `group_weight_decay = ["representation=0.0"]`."""
    values = dict(values)
    groups = values.pop("groups")
    if not isinstance(groups, dict) or not all(isinstance(g, dict) for g in groups.values()):
        raise SpecError(
            f"[optim.groups] {groups!r} is not tables of groups, e.g. "
            "[optim.groups.representation] lr = 1e-3"
        )
    for group, settings in groups.items():
        for key, value in settings.items():
            if key not in GROUP_KEYS:
                raise SpecError(
                    f"unknown key {key!r} in [optim.groups.{group}]; allowed: lr, weight_decay"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"[optim.groups.{group}] {key}={value!r} is not a number")
            field = GROUP_KEYS[key]
            if field in values:
                raise SpecError(f"[optim] gives {field} and [optim.groups]: give one of them")
            values.setdefault(f"_{field}", []).append(f"{group}={float(value)!r}")
    for field in GROUP_KEYS.values():
        if f"_{field}" in values:
            values[field] = values.pop(f"_{field}")
    return values


def _check_read(values: dict[str, Any], dataset: object) -> None:
    """A [data] field the data set does not read, given a value of its own, is refused: the
    spec would store its default, and a `--source FILE` on a table would be silently ignored."""
    info = DATASETS.get(dataset) if isinstance(dataset, str) else None
    for key, value in values.items():
        if info is None or key == "dataset" or key in info.fields:
            continue
        if value != DATA_DEFAULTS[key]:
            raise SpecError(
                f"[data] {key}={value!r} is not read by dataset {dataset!r} (it reads "
                f"{', '.join(info.fields)}); drop it"
            )


def _preset_layout(data: DataSpec, d: dict[str, Any]) -> DataSpec:
    """A preset's own token layout (`PRESET_LAYOUTS`) for a table whose layout is not given."""
    preset = d.get("model", {}).get("preset") if isinstance(d.get("model"), dict) else None
    given = isinstance(d.get("data"), dict) and "layout" in d["data"]
    if preset in PRESET_LAYOUTS and not given and data.dataset == "table":
        return replace(data, layout=PRESET_LAYOUTS[preset])
    return data


def preset_model(name: object) -> ModelSpec:
    if name not in PRESETS:
        raise SpecError(f"model preset {name!r} is unknown; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def spec_from_json(text: str) -> RunSpec:
    """The spec of a stored or sent `canonical_json` text (a run's row, a checkpoint, a task)."""
    return spec_from_dict(json.loads(text))


def spec_from_dict(d: dict[str, Any]) -> RunSpec:
    for key in d:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown section {key!r}; allowed: {', '.join(TOP_KEYS)}")
        if not isinstance(d[key], (dict, list)):
            raise SpecError(f"{key!r} must be a table like [{key}], not {d[key]!r}")
    kwargs: dict[str, Any] = {s: section_from_dict(s, d.get(s, {})) for s in SECTIONS}
    kwargs["data"] = _preset_layout(kwargs["data"], d)
    if "members" in d:
        members = d["members"]
        if isinstance(members, list):  # canonical form: a list of member tables
            kwargs["members"] = tuple(_member(m) for m in members)
        else:
            _check_distinct_seeds(members.get("seed"))
            types_ = field_types(MemberSpec)
            kwargs["members"] = members_from(
                **{
                    k: v if k == "seed" and isinstance(v, str) else _member_value(k, v, types_)
                    for k, v in members.items()
                }
            )
    return RunSpec(**kwargs)


def _check_distinct_seeds(seeds: Any) -> None:
    """A [members] seed list names distinct seeds, as `--seeds` does (1,1 is refused there)."""
    if not isinstance(seeds, list):
        return
    for i, seed in enumerate(seeds):
        if seed in seeds[:i]:
            raise SpecError(
                f"[members] seed={seeds!r} gives {seed!r} twice; members need distinct seeds, "
                'e.g. seed = "0-7"'
            )


def _member_value(key: str, value: Any, types_: dict[str, tuple[type, ...]]) -> Any:
    if key not in types_:
        raise SpecError(f"unknown member field {key!r}; allowed: {', '.join(MEMBER_FIELDS)}")
    if isinstance(value, list):
        return [coerce_field("members", key, v, types_[key]) for v in value]
    return coerce_field("members", key, value, types_[key])


def _member(values: dict[str, Any]) -> MemberSpec:
    types_ = field_types(MemberSpec)
    return MemberSpec(**{k: _member_value(k, v, types_) for k, v in values.items()})


def spec_to_dict(spec: RunSpec) -> dict[str, Any]:
    """The TOML-ready form: one table per section, members as per-field lists."""
    d = asdict(spec)
    members = d.pop("members")
    for section in SECTIONS:  # TOML has no null: a field left at None is left out
        d[section] = {k: v for k, v in d[section].items() if v is not None}
    seeds = [m["seed"] for m in members]
    if len(set(seeds)) == len(seeds):
        d["members"] = {k: [m[k] for m in members] for k in MEMBER_FIELDS}
    else:  # a packed sweep population may repeat a seed: one table per member ([[members]])
        d["members"] = [{k: m[k] for k in MEMBER_FIELDS if m[k] is not None} for m in members]
    return d


MAX_TOML_BYTES = 4 << 20  # a run or sweep file is a few kB; /dev/zero must not fill memory
_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16's byte-order marks


def read_toml(path: str | Path, what: str = "config") -> dict[str, Any]:
    """A TOML file as a dict; an unreadable, oversized, non-UTF-8, malformed or too deeply
    nested file is a one-line error naming it. At most MAX_TOML_BYTES are read, so a device
    (/dev/zero, /dev/urandom) or a huge file fails at once instead of filling the memory."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            blob = f.read(MAX_TOML_BYTES + 1)
    except OSError as e:
        raise GroklabError(f"cannot read {what} {str(path)!r}: {e.strerror}") from None
    if len(blob) > MAX_TOML_BYTES:
        raise SpecError(
            f"{what} {str(path)!r} is larger than {MAX_TOML_BYTES >> 20} MiB; a TOML run file "
            "is a few kB of text"
        )
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as e:
        found = f"byte {blob[e.start]:#04x} at offset {e.start}"
        if blob[:2] in _BOMS:
            found = "UTF-16 (it starts with a byte-order mark)"
        raise SpecError(
            f"{what} {str(path)!r} is not UTF-8 text: {found}; a TOML file must be UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{what} {str(path)!r} is not valid TOML: {e}") from None
    except RecursionError:
        raise SpecError(
            f"{what} {str(path)!r} nests arrays or tables too deeply to read; a run file "
            "nests a few levels"
        ) from None


def load_spec(path: str | Path) -> RunSpec:
    """The spec of a run file; in it, two equal [[members]] tables are refused."""
    document = read_toml(path)
    spec = spec_from_dict(document)
    if isinstance(document.get("members"), list):
        _check_distinct_members(document["members"], spec.members)
    return spec


def _check_distinct_members(tables: list[Any], members: tuple[MemberSpec, ...]) -> None:
    """[[members]] tables may share a seed (a packed sweep population does, at different
    fractions or rates), but two equal members would train the same model twice."""
    for j, member in enumerate(members):
        if member in members[:j]:
            raise SpecError(
                f"[[members]] {members.index(member)} and {j} are the same member "
                f"({tables[j]!r}); give each member a seed or another value of its own, or "
                "drop one"
            )


def save_spec(spec: RunSpec, path: str | Path) -> None:
    """Write the spec as TOML, atomically, with the mode the umask gives a normal file."""
    write_text_atomic(Path(path), tomli_w.dumps(spec_to_dict(spec)))
