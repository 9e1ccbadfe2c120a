"""`groklab train`'s spec flags, generated from the spec dataclasses (spec/sections.py).

A field's name is its flag (`train_fraction` -> `--train-fraction`), its TOML key and its store
column: one name per concept. Member fields take comma-separated lists, one value per member;
`--seeds 0-7` makes 8 members. Each flag's help (cli/flag_help.py) says what it does, its
allowed values and its default.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

from groklab.cli.flag_help import flag_help
from groklab.config import field_types
from groklab.errors import GroklabError
from groklab.spec import MEMBER_FIELDS, SECTIONS, MemberSpec


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; allowed: true, false")


def _number_or_rule(text: str) -> int | float | str:
    """'512' -> 512, '0.25' -> 0.25 (a fraction), 'full' -> 'full'."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _flag_type(types: tuple[type, ...]) -> Any:
    if any(typing.get_origin(t) is tuple for t in types):
        return str  # 'a,b': the spec splits a list of names
    if bool in types:
        return _bool
    if str in types and int in types:
        return _number_or_rule
    return types[0]


def add_spec_flags(parser: argparse.ArgumentParser) -> None:
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"[{section}]")
        for name, types in field_types(cls).items():
            group.add_argument(
                f"--{name.replace('_', '-')}",
                dest=f"{section}.{name}",
                metavar=name.upper(),
                type=_flag_type(types),
                default=argparse.SUPPRESS,
                help=flag_help(section, name, getattr(cls(), name)),
            )
    members = parser.add_argument_group("[members] one value, or a comma-separated list per member")
    members.add_argument(
        "--seeds",
        dest="members.seed",
        metavar="SEEDS",
        default=argparse.SUPPRESS,
        help=flag_help("members", "seed", 0),
    )
    defaults = MemberSpec()
    for name in MEMBER_FIELDS[1:]:
        members.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"members.{name}",
            metavar=name.upper(),
            default=argparse.SUPPRESS,
            help=flag_help("members", name, getattr(defaults, name)),
        )


def resolve_auto_dtype(args: argparse.Namespace, device) -> str | None:
    """`--dtype auto` (also the default when no --config gives a dtype) -> the machine's choice
    (train/precision.py), written back into `args` so the spec holds the resolved dtype.
    Returns the line that says which and why, or None for an explicit dtype."""
    from groklab.errors import SpecError
    from groklab.spec.sections import DTYPES
    from groklab.train.precision import resolve_dtype

    requested = getattr(args, "train.dtype", None)
    if requested is None and not getattr(args, "config", None):
        requested = "auto"
    if requested != "auto":
        if requested is not None and requested not in DTYPES:  # the flag also takes auto
            allowed = ", ".join(("auto", *DTYPES))
            raise SpecError(f"--dtype {requested!r} is not allowed; choose one of {allowed}")
        return None
    dtype, why = resolve_dtype("auto", device)
    setattr(args, "train.dtype", dtype)
    return f"dtype {dtype} ({why})"


def spec_from_args(args: argparse.Namespace):
    from groklab.config import load_spec, spec_from_dict, spec_to_dict

    d: dict[str, dict] = spec_to_dict(load_spec(args.config)) if args.config else {}
    if args.model:  # the preset replaces the config's [model]; model flags still override it
        d["model"] = {"preset": args.model}
    for key, value in vars(args).items():
        section, _, name = key.partition(".")
        if not name:
            continue
        if section == "members":
            if isinstance(d.get("members"), list):  # [[members]]: a table per member
                raise GroklabError(
                    f"--{name.replace('_', '-')} cannot override a config with one [[members]] "
                    "table per member; edit the file instead"
                )
            value = value if name == "seed" else [_member_value(name, v) for v in value.split(",")]
            d.setdefault("members", {})[name] = value
        else:
            d.setdefault(section, {})[name] = value
    if "members" in d and isinstance(d["members"], dict):
        # per-field lists from a config and single flags must broadcast against each other
        d["members"] = {
            k: (v[0] if isinstance(v, list) and len(set(map(str, v))) == 1 else v)
            for k, v in d["members"].items()
        }
    return spec_from_dict(d)


def _member_value(name: str, text: str) -> int | float:
    """One value of a member flag, as its field's type (`--n-outliers` is an int)."""
    kind = field_types(MemberSpec)[name][0]
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise GroklabError(f"--{name.replace('_', '-')} value {text!r} is not {what}") from None
