"""Tests for src/groklab/analysis/summary.py: per-group median, range and count never reached."""

import math

import numpy as np

from groklab.analysis import Summary, summarize

NAN = float("nan")


def test_summary_gives_median_range_and_never_count_per_key_in_order():
    out = summarize({0.5: np.array([300.0, 100.0, NAN, 200.0]), 0.3: np.array([50.0])})
    assert [s.key for s in out] == [0.5, 0.3]
    assert out[0] == Summary(0.5, median=200.0, min=100.0, max=300.0, n=4, n_never=1)
    assert out[1] == Summary(0.3, median=50.0, min=50.0, max=50.0, n=1, n_never=0)


def test_a_group_that_never_reached_has_nan_statistics_and_counts_all_runs():
    (s,) = summarize({"s5_mul": [NAN, NAN, NAN]})
    assert math.isnan(s.median) and math.isnan(s.min) and math.isnan(s.max)
    assert (s.n, s.n_never) == (3, 3)


def test_empty_mapping_gives_no_summaries():
    assert summarize({}) == []
