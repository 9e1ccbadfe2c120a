"""Steps-to-grok statistics with censoring: the Kaplan-Meier median, bootstrap intervals and the
speed-up over a baseline.

A seed that never reached the threshold within its budget is *censored* at the budget: we know
only that its time is longer. Dropping it would flatter a method that often fails; counting it
as the budget would make the median depend on the budget. The Kaplan-Meier estimate of the
survival function S(t) (the share of seeds not yet at the threshold after t steps) uses both:

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i)

with d_i seeds reaching it at t_i and n_i seeds still at risk (not reached, not censored before
t_i). The median is the first event time with S <= 1/2; where S never falls to 1/2 (half the
seeds or more censored) it is `inf`: "more than the budget".

Intervals are percentile bootstraps over seeds (resampled with replacement, 2,000 times, from a
fixed seed so a table is reproducible); a resample whose median is censored counts as `inf`, so
an upper bound of `inf` says the data cannot rule out "never within the budget".

Example (a hand computation; tests/bench/test_stats.py has it):
    >>> km_median([100, 200, float("nan"), 300], budget=1000)   # 1 - 1/4, 1 - 2/4 at 200
    200.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N_BOOT = 2_000
BOOT_SEED = 0
LEVEL = 0.95


def _times(values: Sequence[float], budget: float) -> tuple[np.ndarray, np.ndarray]:
    """(time, reached) per seed: nan (never reached) becomes censored at the budget."""
    t = np.asarray(values, dtype=np.float64).reshape(-1)
    reached = np.isfinite(t)
    return np.where(reached, t, float(budget)), reached


def km_survival(values: Sequence[float], budget: float) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier survival function at its event times: (times [K], S [K]), S after
    each time's events."""
    t, reached = _times(values, budget)
    times = np.unique(t[reached])
    survival, s = [], 1.0
    for ti in times:
        at_risk = np.count_nonzero(t >= ti)
        events = np.count_nonzero((t == ti) & reached)
        s *= 1.0 - events / at_risk
        survival.append(s)
    return times, np.asarray(survival, dtype=np.float64)


def km_median(values: Sequence[float], budget: float) -> float:
    """The first step at which the Kaplan-Meier survival is <= 1/2; inf if it never is.
    `values`: each seed's step, nan where it never reached the threshold (censored at budget)."""
    times, survival = km_survival(values, budget)
    below = np.flatnonzero(survival <= 0.5 + 1e-12)
    return float(times[below[0]]) if below.size else float("inf")


@dataclass(frozen=True)
class Estimate:
    value: float  # inf: more than the budget
    low: float
    high: float


def _quantiles(samples: np.ndarray) -> tuple[float, float]:
    """Percentile interval of bootstrap samples that may hold inf (nan samples dropped)."""
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - LEVEL) / 2
    low, high = np.quantile(samples, [alpha, 1.0 - alpha], method="inverted_cdf")
    return float(low), float(high)


def _medians(values: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """km_median of each resample `values[picks[b]]`, [B], at once. Every censoring here is at
    the budget, after every event, so S(t) = 1 - (seeds reached by t) / n and the median is the
    ceil(n/2)-th smallest step, censored seeds sorting last as inf."""
    n = picks.shape[1]
    times = np.sort(np.where(np.isfinite(values), values, np.inf)[picks], axis=1)
    return times[:, (n + 1) // 2 - 1]


def median_with_interval(values: Sequence[float], budget: float) -> Estimate:
    """The Kaplan-Meier median and its 95 % percentile-bootstrap interval over seeds."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(BOOT_SEED)
    picks = rng.integers(0, values.size, size=(N_BOOT, values.size))
    return Estimate(km_median(values, budget), *_quantiles(_medians(values, picks)))


def _ratio(base: float, other: float) -> float:
    """base / other for steps: inf where only `base` is censored, 0 where only `other` is,
    nan where both are (nothing to compare)."""
    if np.isinf(base) and np.isinf(other):
        return float("nan")
    return base / other if other > 0 else float("inf")


def speedup(
    baseline: Sequence[float], method: Sequence[float], budget: float, baseline_budget: float
) -> Estimate:
    """The baseline's median steps over the method's (> 1: the method is faster), with a 95 %
    bootstrap interval from resampling both sets of seeds independently."""
    base = np.asarray(baseline, dtype=np.float64).reshape(-1)
    other = np.asarray(method, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(BOOT_SEED + 1)
    pick_base = rng.integers(0, base.size, size=(N_BOOT, base.size))
    pick_other = rng.integers(0, other.size, size=(N_BOOT, other.size))
    medians = zip(_medians(base, pick_base), _medians(other, pick_other), strict=True)
    samples = np.array([_ratio(a, b) for a, b in medians])
    value = _ratio(km_median(base, baseline_budget), km_median(other, budget))
    return Estimate(value, *_quantiles(samples))


def reached_share(values: Sequence[float], steps: np.ndarray) -> np.ndarray:
    """The share of seeds that reached the threshold by each step (1 - KM survival without
    censoring before the budget), [len(steps)]."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    reached = np.where(np.isfinite(values), values, np.inf)
    return (reached[None, :] <= np.asarray(steps, dtype=np.float64)[:, None]).mean(axis=1)
