"""Tests for src/groklab/bench/stats.py: the Kaplan-Meier median and its intervals against hand
computations on small censored examples, and against scipy's estimator."""

import math

import numpy as np
import pytest

from groklab.bench.stats import (
    km_median,
    km_survival,
    median_with_interval,
    reached_share,
    speedup,
)

NAN = float("nan")


def test_the_survival_function_of_a_censored_example_is_the_hand_computed_one():
    # 5 seeds, budget 1000: reached at 100, 200, 200, 400; one never (censored at 1000).
    # S(100) = 1 - 1/5 = 0.8; S(200) = 0.8 (1 - 2/4) = 0.4; S(400) = 0.4 (1 - 1/2) = 0.2
    times, survival = km_survival([200, NAN, 100, 400, 200], budget=1000)
    assert times.tolist() == [100, 200, 400]
    np.testing.assert_allclose(survival, [0.8, 0.4, 0.2])
    assert km_median([200, NAN, 100, 400, 200], budget=1000) == 200


def test_the_median_is_censored_when_half_the_seeds_or_more_never_reach():
    # 4 seeds, 2 censored: S(100) = 3/4, S(300) = 1/2 -> the median is 300 (S <= 1/2 there)
    assert km_median([100, 300, NAN, NAN], budget=500) == 300
    # 5 seeds, 3 censored: S falls to 3/5 only -> more than the budget
    assert math.isinf(km_median([100, 300, NAN, NAN, NAN], budget=500))
    assert math.isinf(km_median([NAN, NAN], budget=500))
    # with no censoring it is the lower median, as the order statistic ceil(n/2)
    assert km_median([10, 20, 30, 40], budget=50) == 20
    assert km_median([10, 20, 30], budget=50) == 20


def test_the_median_equals_scipys_kaplan_meier_estimate():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 12))
        values = rng.integers(1, 40, size=n).astype(float)
        values[rng.random(n) < 0.35] = NAN
        reached = np.isfinite(values)
        data = stats.CensoredData(uncensored=values[reached], right=np.full((~reached).sum(), 50.0))
        sf = stats.ecdf(data).sf
        grid = np.arange(1, 51)
        below = grid[sf.evaluate(grid) <= 0.5 + 1e-12]
        expected = float(below[0]) if below.size and below[0] < 50 else math.inf
        if not reached.any():
            expected = math.inf
        assert km_median(values, budget=50) == expected, values


def test_the_interval_is_a_percentile_bootstrap_that_keeps_censored_resamples():
    e = median_with_interval([100, 100, 100, 100, 100], budget=1000)
    assert (e.value, e.low, e.high) == (100, 100, 100)  # every resample is all 100s
    e = median_with_interval([100, 200, NAN, NAN, 300], budget=1000)
    assert e.value == 300 and e.low == 100 and math.isinf(e.high)
    again = median_with_interval([100, 200, NAN, NAN, 300], budget=1000)
    assert again == e  # a fixed bootstrap seed: the same table twice


def test_the_speedup_is_the_baselines_median_over_the_methods():
    e = speedup([400, 400, 400], [100, 100, 100], budget=1000, baseline_budget=1000)
    assert (e.value, e.low, e.high) == (4.0, 4.0, 4.0)
    # a censored baseline: the method is faster by more than any finite factor we can say
    e = speedup([NAN, NAN, NAN], [100, 100, 100], budget=1000, baseline_budget=1000)
    assert math.isinf(e.value)
    # both censored: nothing to compare
    assert math.isnan(speedup([NAN], [NAN], budget=10, baseline_budget=10).value)


def test_reached_share_counts_seeds_at_or_before_each_step():
    share = reached_share([100, NAN, 300, 100], np.array([50, 100, 299, 300, 1000]))
    np.testing.assert_allclose(share, [0, 0.5, 0.5, 0.75, 0.75])
