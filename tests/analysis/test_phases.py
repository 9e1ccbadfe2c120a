import numpy as np
import pytest

from groklab.analysis.phases import (
    PHASES,
    classify_phase,
    classify_phases,
    phase_counts,
    phase_steps,
)

NAN = float("nan")


def plain_phase(train: float, test: float) -> str:
    """The paper's rule written out case by case."""
    if train != train:  # never fitted
        return "confusion"
    if test != test:  # fitted, never generalized
        return "memorization"
    if test > train + 1000:
        return "grokking"
    return "comprehension"


@pytest.mark.parametrize(
    ("train", "test", "phase"),
    [
        (200.0, 1200.0, "comprehension"),  # a lag of exactly 10^3 is not yet grokking
        (200.0, 1201.0, "grokking"),
        (500.0, 100.0, "comprehension"),  # test first
        (0.0, 0.0, "comprehension"),
        (300.0, NAN, "memorization"),
        (NAN, NAN, "confusion"),
        (NAN, 400.0, "confusion"),  # test without train still did not fit the data
    ],
)
def test_classify_phase_at_the_boundaries(train, test, phase):
    assert classify_phase(train, test) == phase == plain_phase(train, test)


def test_classify_phase_gap_is_a_parameter():
    assert classify_phase(0.0, 150.0, gap=100) == "grokking"
    assert classify_phase(0.0, 150.0, gap=200) == "comprehension"


def test_classify_phases_matches_the_scalar_rule_on_a_grid():
    rng = np.random.default_rng(0)
    train = rng.choice([NAN, 0.0, 100.0, 900.0, 2500.0], size=(4, 5))
    test = rng.choice([NAN, 0.0, 1100.0, 1101.0, 3600.0], size=(4, 5))
    got = classify_phases(train, test)
    assert got.shape == (4, 5)
    expected = [
        [plain_phase(a, b) for a, b in zip(r, s, strict=True)]
        for r, s in zip(train, test, strict=True)
    ]
    assert got.tolist() == expected


def test_phase_steps_are_the_first_evaluations_at_90_percent():
    steps = np.array([0, 100, 200, 300, 1500])
    train = np.array([[0.1, 0.95, 1.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.5, 0.89]])
    test = np.array([[0.0, 0.1, 0.2, 0.3, 0.9], [0.9, 0.9, 0.9, 0.9, 0.9]])
    to_train, to_test = phase_steps(steps, train, test)
    np.testing.assert_array_equal(to_train, [100.0, NAN])
    np.testing.assert_array_equal(to_test, [1500.0, 0.0])
    assert classify_phases(to_train, to_test).tolist() == ["grokking", "confusion"]


def test_phase_counts_lists_every_phase():
    counts = phase_counts(np.array(["grokking", "confusion", "grokking"]))
    assert list(counts) == list(PHASES)
    assert counts == {"comprehension": 0, "grokking": 2, "memorization": 0, "confusion": 1}


def test_goldilocks_lines_need_generalization_between_memorization_and_confusion():
    from groklab.analysis.phases import goldilocks_lines

    rows = np.array(
        [
            ["memorization", "grokking", "confusion"],  # yes
            ["confusion", "comprehension", "memorization"],  # yes, in the reverse order
            ["memorization", "confusion", "comprehension"],  # no: nothing between the two
            ["comprehension", "comprehension", "comprehension"],  # no memorization or confusion
            ["memorization", "memorization", "grokking"],  # no confusion
        ]
    )
    assert goldilocks_lines(rows) == [0, 1]
    # along the other axis: column 0 has comprehension (row 3) between confusion (row 1) and
    # memorization (row 4); column 2 has confusion but no memorization
    assert goldilocks_lines(rows.T) == [0, 1]
