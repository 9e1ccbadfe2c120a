"""Members from per-field values: `members_from(seed=[0, 1], lr=1e-3)`, `parse_seeds("0-7")`."""

from __future__ import annotations

from groklab.errors import SpecError
from groklab.spec.sections import MAX_MEMBERS, MEMBER_FIELDS, MemberSpec


def members_from(**values: object) -> tuple[MemberSpec, ...]:
    """Members from per-field scalars or lists (lists of equal length, scalars broadcast).

    Example: members_from(seed=[0, 1, 2], lr=1e-3) gives three members with lr 1e-3.
    """
    unknown = sorted(set(values) - set(MEMBER_FIELDS))
    if unknown:
        raise SpecError(f"unknown member field {unknown[0]!r}; allowed: {', '.join(MEMBER_FIELDS)}")
    if isinstance(values.get("seed"), str):
        values["seed"] = parse_seeds(values["seed"])
    lists = {k: list(v) for k, v in values.items() if isinstance(v, (list, tuple))}
    lengths = {len(v) for v in lists.values()} - {1}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in lists.items())
        raise SpecError(f"per-member lists have different lengths ({sizes}); give equal lengths")
    n = lengths.pop() if lengths else 1
    if n == 0:
        raise SpecError("per-member lists are empty; give at least one value")
    rows = []
    for i in range(n):
        row = {k: (v[i if len(v) > 1 else 0] if k in lists else v) for k, v in values.items()}
        rows.append(MemberSpec(**row))
    return tuple(rows)


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0..7]; '0,3,5' -> [0, 3, 5]; '2' -> [2]; ranges and lists mix ('0-2,9')."""
    seeds: list[int] = []
    for part in str(text).split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)  # '3-' is an error, not [3]
        except ValueError:
            allowed = "'0-7', '0,3,5', '0-2,9'"
            raise SpecError(f"seeds={text!r} is not a list of seeds; allowed: {allowed}") from None
        if last < first:
            raise SpecError(f"seeds={text!r} has the empty range {part.strip()!r}; e.g. '0-7'")
        if last - first + len(seeds) >= MAX_MEMBERS:
            raise SpecError(f"seeds={text!r} names more than {MAX_MEMBERS} members")
        seeds.extend(range(first, last + 1))
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise SpecError(f"seeds={text!r} must name distinct non-negative seeds, e.g. '0-7'")
    return seeds
