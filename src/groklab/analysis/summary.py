"""Per-group summaries of a sweep: median and range over seeds, and how many never reached;
medians over seeds of whole rows of numbers (`median_rows`).

Power et al. 2022 report steps-to-99 % as a median over seeds and mark the runs that never
got there; `summarize` gives exactly those numbers for each group (a training fraction, an
operation, an optimizer, ...).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from groklab.analysis.curves import median_and_range


@dataclass(frozen=True)
class Summary:
    key: Hashable
    median: float  # over the finite values; nan if none is finite
    min: float
    max: float
    n: int  # runs in the group
    n_never: int  # runs whose value is nan (never reached)


def summarize(values_by_key: Mapping[Hashable, np.ndarray]) -> list[Summary]:
    """One Summary per key, in the mapping's order.

    Example: {0.3: [nan, nan], 0.5: [300, 100, nan]} ->
    [Summary(0.3, nan, nan, nan, n=2, n_never=2), Summary(0.5, 200.0, 100.0, 300.0, 3, 1)].
    """
    out = []
    for key, values in values_by_key.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        median, lo, hi, n_never = median_and_range(values)
        out.append(Summary(key, median, lo, hi, int(values.size), n_never))
    return out


def median_rows(rows: Sequence[dict], n_panels: int) -> list[dict]:
    """One row per panel from its seeds' rows (seeds outer, `n_panels` rows each; a row is
    {name: value}): its name and settings (the first seed's), "seeds", then each number (a
    float) its median over the seeds where it was measured (nan where fewer than half
    measured it: a step never reached counts as not measured). "seed", "run_id" and
    "member" are left out."""
    out = []
    for p in range(n_panels):
        group = rows[p::n_panels]
        first = group[0]
        numbers = [k for k, v in first.items() if isinstance(v, (float, np.floating))]
        row = {k: v for k, v in first.items() if k not in (*numbers, "seed", "run_id", "member")}
        row["seeds"] = len(group)
        for k in numbers:
            values = np.array([r[k] for r in group], dtype=float)
            finite = values[np.isfinite(values)]
            row[k] = float(np.median(finite)) if 2 * finite.size >= values.size else np.nan
        out.append(row)
    return out
