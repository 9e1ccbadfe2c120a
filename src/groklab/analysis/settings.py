"""What sets members and runs apart, as short text for legends, titles and `groklab runs`.

A population whose members differ in more than their seed must not be summarized by one
median: `member_groups` groups the members that share every setting but the seed and labels
each group by what differs between the groups. `run_differences` does the same across runs.

Example, members with weight decays 0.3, 1, 1 (seeds 0, 1, 2):
    >>> [(g.label, g.indices) for g in member_groups(specs)]
    [('wd 0.3', (0,)), ('wd 1 (2 seeds)', (1, 2))]
    >>> shared_settings(specs)
    'fraction 0.5, lr 0.001'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from groklab.spec import SECTIONS, MemberSpec

# Short names for legends; any other field is shown under its own name.
SHORT_NAMES = {
    "train_fraction": "fraction",
    "weight_decay": "wd",
    "init_scale": "init",
    "n_outliers": "outliers",
    "n_train": "n_train",
    "norm_constraint": "constrained",
}
HEADLINE = ("train_fraction", "lr", "weight_decay")  # always in a title when shared
MAX_TEXT = 60


@dataclass(frozen=True)
class MemberGroup:
    label: str  # what sets this group apart, e.g. "wd 1 (2 seeds)"; "" if there is one group
    indices: tuple[int, ...]  # the members' positions in the population


def setting_text(name: str, value: object) -> str:
    """'weight_decay', 0.3 -> 'wd 0.3'; a boolean is its name when true, 'not <name>' else."""
    short = SHORT_NAMES.get(name, name)
    if isinstance(value, bool):
        return short if value else f"not {short}"
    if isinstance(value, list | tuple):
        return f"{short} {','.join(_value_text(v) for v in value) or 'none'}"
    return f"{short} {_value_text(value)}"


def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def member_groups(specs: Sequence[Mapping]) -> list[MemberGroup]:
    """Members grouped by every field but `seed`, in order of first appearance."""
    rows = [_member_row(s) for s in specs]
    keys = [tuple((k, repr(v)) for k, v in row.items() if k != "seed") for row in rows]
    order = list(dict.fromkeys(keys))
    differ = _differing([{k: v for k, v in row.items() if k != "seed"} for row in rows])
    groups = []
    for key in order:
        indices = tuple(i for i, k in enumerate(keys) if k == key)
        first = rows[indices[0]]
        label = ", ".join(setting_text(name, first[name]) for name in differ)
        if len(indices) > 1:
            label = f"{label} ({len(indices)} seeds)" if label else ""
        groups.append(MemberGroup(label if len(order) > 1 else "", indices))
    return groups


def shared_settings(specs: Sequence[Mapping]) -> str:
    """The headline fields every member shares, plus the shared ones away from their default."""
    rows = [_member_row(s) for s in specs]
    defaults = asdict(MemberSpec())
    differ = set(_differing(rows))
    names = [n for n in rows[0] if n not in differ and n != "seed"]
    shown = [n for n in names if n in HEADLINE or rows[0][n] != defaults[n]]
    if rows[0]["n_train"]:
        shown = [n for n in shown if n != "train_fraction"]
    return ", ".join(setting_text(n, rows[0][n]) for n in shown)


def task_text(spec: Mapping) -> str:
    """The task of a stored spec (its canonical JSON as a dict): 'div p=97' or the data set."""
    data = {**asdict(SECTIONS["data"]()), **spec.get("data", {})}
    return f"{data['op']} p={data['p']}" if data["dataset"] == "table" else data["dataset"]


def run_differences(specs: Sequence[Mapping]) -> list[str]:
    """One short text per stored spec: the settings that differ between these runs.

    Seeds and the step budget are left out (`groklab runs` shows both elsewhere). Example: two
    runs that differ only in [interventions] norm_constraint -> ['not constrained',
    'constrained'].
    """
    rows = [_run_row(s) for s in specs]
    differ = [n for n in _differing(rows) if n not in ("seed", "steps")]
    texts = [", ".join(setting_text(n, row[n]) for n in differ) for row in rows]
    return [t if len(t) <= MAX_TEXT else t[: MAX_TEXT - 3] + "..." for t in texts]


def best_val_text(val_acc: np.ndarray) -> str:
    """[M, S] -> '1.000 (worst 0.470)': the best member's best and, for M > 1, the worst
    member's best; '-' before any evaluation."""
    per_member = _nanmax(np.atleast_2d(np.asarray(val_acc, dtype=np.float64)))  # [M]
    if not np.isfinite(per_member).any():
        return "-"
    best = f"{np.nanmax(per_member):.3f}"
    if per_member.size == 1:
        return best
    worst = np.where(np.isfinite(per_member), per_member, -np.inf).min()
    return f"{best} (worst {worst:.3f})" if np.isfinite(worst) else f"{best} (worst -)"


def _nanmax(values: np.ndarray) -> np.ndarray:
    """[M, S] -> [M]; nan for a member with no finite value."""
    finite = np.isfinite(values)
    best = np.where(finite, values, -np.inf).max(axis=1, initial=-np.inf)
    return np.where(finite.any(axis=1), best, np.nan)


def _member_row(spec: Mapping) -> dict:
    return {**asdict(MemberSpec()), **spec}


def _run_row(spec: Mapping) -> dict:
    """A stored spec as one flat dict; a member field is its members' distinct values."""
    row: dict = {}
    members = [_member_row(m) for m in spec.get("members", [{}])]
    for name in members[0]:  # first: what a run's members set is what most often differs
        values = list(dict.fromkeys(m[name] for m in members))
        row[name] = values[0] if len(values) == 1 else tuple(values)
    for section, cls in SECTIONS.items():
        row |= {**asdict(cls()), **spec.get(section, {})}
    return row


def _differing(rows: Sequence[Mapping]) -> list[str]:
    """The names whose value is not the same in every row, in the first row's order."""
    return [n for n in rows[0] if len({repr(r[n]) for r in rows}) > 1]
