"""Tests for src/groklab/analysis/summary.py: per-group median, range and count never reached."""

import math

import numpy as np

from groklab.analysis import Summary, summarize
from groklab.analysis.summary import median_rows

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


def test_median_rows_gives_each_panel_its_median_over_seeds():
    """Seeds outer: rows 0-1 are seed 0's two panels, rows 2-3 seed 1's, rows 4-5 seed 2's.
    Settings come from the first seed; a number measured by fewer than half the seeds is nan;
    the ids and the seed go."""
    rows = [
        {"run": name, "seed": seed, "run_id": f"r{seed}", "member": 0, "alpha": alpha,
         "delay": delay, "peak": peak}
        for seed, panel_rows in enumerate(
            [[(1.0, 10.0, 0.5), (2.0, math.nan, 0.1)],
             [(1.0, 30.0, 0.7), (2.0, math.nan, 0.3)],
             [(1.0, 20.0, 0.6), (2.0, 5.0, 0.2)]]
        )
        for name, (alpha, delay, peak) in zip(("a", "b"), panel_rows, strict=True)
    ]  # fmt: skip
    first, second = median_rows(rows, 2)
    assert first == {"run": "a", "alpha": 1.0, "seeds": 3, "delay": 20.0, "peak": 0.6}
    assert second["run"] == "b" and second["seeds"] == 3 and second["peak"] == 0.2
    assert math.isnan(second["delay"])  # 1 of 3 seeds reached it
