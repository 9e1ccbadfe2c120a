"""Tests for src/groklab/analysis/fraction.py: the smallest fraction that generalizes in budget."""

import math

import numpy as np
import pytest

from groklab.analysis import smallest_fraction

NAN = float("nan")


def test_monotone_case_gives_the_first_fraction_within_budget():
    fractions = np.array([0.2, 0.3, 0.4, 0.5])
    steps = np.array([NAN, 5000.0, 800.0, 300.0])
    assert smallest_fraction(fractions, steps, budget=1000) == 0.4
    assert smallest_fraction(fractions, steps, budget=10_000) == 0.3


def test_fractions_are_judged_on_their_own_across_a_gap():
    # 0.4 misses the budget but 0.3 meets it: the smallest fraction that met it is 0.3
    fractions = np.array([0.5, 0.4, 0.3, 0.2])  # any order
    steps = np.array([200.0, NAN, 900.0, NAN])
    assert smallest_fraction(fractions, steps, budget=1000) == 0.3


def test_all_never_reached_gives_nan():
    assert math.isnan(smallest_fraction(np.array([0.3, 0.5]), np.array([NAN, NAN]), budget=1e5))


def test_steps_equal_to_the_budget_count_as_within():
    fractions, steps = np.array([0.3, 0.5]), np.array([1000.0, 10.0])
    assert smallest_fraction(fractions, steps, budget=1000) == 0.3
    assert smallest_fraction(fractions, steps, budget=999) == 0.5


def test_seeds_of_a_fraction_count_through_their_median_with_never_as_infinite():
    fractions = np.array([0.3, 0.3, 0.3, 0.5, 0.5])
    # 0.3: two of three seeds reach it within budget -> median 900 counts
    assert smallest_fraction(fractions, np.array([900, 100, NAN, 50, 60]), budget=1000) == 0.3
    # 0.3: two of three seeds never reach it -> the median is never
    assert smallest_fraction(fractions, np.array([900, NAN, NAN, 50, 60]), budget=1000) == 0.5
    # half never: the median of [100, never] is never
    pair = np.array([0.3, 0.3, 0.5])
    assert smallest_fraction(pair, np.array([100, NAN, 10]), budget=1000) == 0.5


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="one of each per run"):
        smallest_fraction(np.array([0.3, 0.5]), np.array([1.0]), budget=10)
