import numpy as np
import pytest

from groklab.analysis import grokking_delay, median_and_range, steps_to_threshold
from groklab.analysis.curves import (
    curve_ends,
    late_median,
    median_never_last,
    smoothed,
    stack_members,
    stack_seeds,
)

STEPS = np.array([0, 10, 100, 1000, 10000])


def test_steps_to_threshold_is_first_step_reaching_it_even_if_it_drops_later():
    acc = np.array([0.1, 0.5, 0.995, 0.9, 1.0])
    assert steps_to_threshold(STEPS, acc) == 100.0
    assert steps_to_threshold(STEPS, acc, threshold=0.5) == 10.0


def test_steps_to_threshold_is_nan_when_never_reached_or_not_evaluated():
    assert np.isnan(steps_to_threshold(STEPS, np.array([0.1, 0.5, 0.98, np.nan, 0.9])))
    assert np.isnan(steps_to_threshold(STEPS[:0], np.array([])))


def test_steps_to_threshold_on_population_gives_one_value_per_member():
    acc = np.array(
        [
            [0.0, 0.99, 1.0, 1.0, 1.0],  # reaches exactly 0.99 at step 10
            [0.0, 0.1, 0.2, 0.3, 0.4],  # never
            [np.nan, 0.0, 0.0, 0.0, 1.0],  # at the last step
        ]
    )
    result = steps_to_threshold(STEPS, acc)
    assert isinstance(result, np.ndarray) and result.shape == (3,)
    np.testing.assert_array_equal(result, [10.0, np.nan, 10000.0])


def test_steps_to_threshold_rejects_mismatched_shapes_in_one_line():
    with pytest.raises(ValueError, match=r"expected \[S\] or \[M, S\] with S=5"):
        steps_to_threshold(STEPS, np.zeros((2, 4)))


def test_grokking_delay_is_val_minus_train_steps_per_member():
    train = np.array([[0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0, 1.0]])
    val = np.array([[0.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.5]])
    np.testing.assert_array_equal(grokking_delay(STEPS, train, val), [990.0, np.nan])
    assert grokking_delay(STEPS, train[0], val[0]) == 990.0


def test_median_and_range_ignores_and_counts_never_reached():
    assert median_and_range(np.array([300.0, 100.0, np.nan, 200.0, np.inf])) == (
        200.0,
        100.0,
        300.0,
        2,
    )


def test_median_and_range_of_all_nan_is_nan_with_full_count():
    median, low, high, n_missing = median_and_range(np.full(4, np.nan))
    assert np.isnan([median, low, high]).all() and n_missing == 4


def test_one_lucky_evaluation_is_not_a_peak():
    assert smoothed(np.array([0.5, 0.9, 0.5, 0.6, 0.7])).tolist() == [0.5, 0.5, 0.6, 0.6, 0.7]


def test_median_never_last_counts_nan_as_later_than_any_step():
    steps = np.array([[np.nan, np.nan, 100.0], [50.0, 70.0, np.nan]])  # [F, S]
    np.testing.assert_array_equal(median_never_last(steps), [np.inf, 70.0])


def test_late_median_reads_only_the_last_share_of_the_steps():
    steps, acc = np.array([0, 100, 200, 300]), np.array([0.1, 0.2, 0.8, 0.9])
    assert late_median(steps, acc, 0.5) == pytest.approx(0.85)


def test_curve_ends_reads_the_first_norm_and_the_last_of_everything_else():
    curves = {
        "step": np.array([0, 10, 20]),
        "train_acc": np.array([[0.1, 0.9, 1.0]]),
        "val_acc": np.array([[0.0, 0.2, 0.7]]),
        "weight_norm": np.array([[5.0, 6.0, 4.0]]),
    }
    assert curve_ends(curves) == {
        "final_train_acc": 1.0,
        "final_val_acc": 0.7,
        "initial_weight_norm": 5.0,
        "final_weight_norm": 4.0,
        "steps_done": 20.0,
    }


def test_stack_members_puts_each_members_curves_on_the_member_axis():
    one = {"step": np.array([0, 10]), "val_acc": np.array([[0.1, 0.2]])}
    two = {"step": np.array([0, 10]), "val_acc": np.array([[0.3, 0.4]])}
    stacked = stack_members([one, two])
    np.testing.assert_array_equal(stacked["step"], [0, 10])
    np.testing.assert_array_equal(stacked["val_acc"], [[0.1, 0.2], [0.3, 0.4]])  # [M, S]


def test_stack_seeds_cuts_every_seed_to_the_shortest_run():
    """A run that stopped early (its goal reached) has fewer evaluations: every seed's curves
    are cut to the shortest, one member per seed."""
    long = {"step": np.array([0, 10, 20]), "val_acc": np.array([[0.1, 0.5, 0.9]])}
    short = {"step": np.array([0, 10]), "val_acc": np.array([[0.2, 0.99]])}
    stacked = stack_seeds([long, short])
    np.testing.assert_array_equal(stacked["step"], [0, 10])
    np.testing.assert_array_equal(stacked["val_acc"], [[0.1, 0.5], [0.2, 0.99]])
