"""Phases of learning (Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022, "Towards
understanding grokking: an effective theory of representation learning", Sec. 5).

Each run is classified by the steps at which its train and its test accuracy first reach 90 %
within the budget:

- comprehension: both reached, test at most `gap` (10^3) steps after train (or before it);
- grokking:      both reached, test more than `gap` steps after train;
- memorization:  train reached, test never;
- confusion:     train never (whatever test did: the model did not fit its data).

Example: train 90 % at step 200 and test at 5,000 -> "grokking"; test at 900 -> "comprehension".

    >>> classify_phase(200.0, 5000.0), classify_phase(200.0, 900.0)
    ('grokking', 'comprehension')
    >>> classify_phase(200.0, float("nan")), classify_phase(float("nan"), 300.0)
    ('memorization', 'confusion')
"""

from __future__ import annotations

import math

import numpy as np

from groklab.analysis.curves import steps_to_threshold

PHASES = ("comprehension", "grokking", "memorization", "confusion")
THRESHOLD = 0.9  # the accuracy that counts as reached, as the paper's code
GROKKING_GAP = 1000  # test lagging train by more than this many steps is grokking


def classify_phase(train_step: float, test_step: float, *, gap: float = GROKKING_GAP) -> str:
    """The phase of one run from its steps to the threshold (nan: never within the budget)."""
    if math.isnan(train_step):
        return "confusion"
    if math.isnan(test_step):
        return "memorization"
    return "grokking" if test_step - train_step > gap else "comprehension"


def classify_phases(
    train_steps: np.ndarray, test_steps: np.ndarray, *, gap: float = GROKKING_GAP
) -> np.ndarray:
    """`classify_phase` element by element: [...] steps -> [...] phase names (numpy str)."""
    train_steps = np.asarray(train_steps, dtype=np.float64)
    test_steps = np.asarray(test_steps, dtype=np.float64)
    flat = [
        classify_phase(float(a), float(b), gap=gap)
        for a, b in zip(train_steps.ravel(), test_steps.ravel(), strict=True)
    ]
    return np.array(flat, dtype=object).reshape(train_steps.shape).astype(str)


def phase_steps(
    steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, threshold: float = THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Steps to `threshold` on train and on test, [M] each (nan: never), from [M, S] curves."""
    return (
        np.atleast_1d(steps_to_threshold(steps, train_acc, threshold)),
        np.atleast_1d(steps_to_threshold(steps, test_acc, threshold)),
    )


def phase_counts(phases: np.ndarray) -> dict[str, int]:
    """How many runs are in each phase, in PHASES order (0 where none)."""
    phases = np.asarray(phases)
    return {phase: int((phases == phase).sum()) for phase in PHASES}


GENERALIZING = ("comprehension", "grokking")


def goldilocks_lines(phases: np.ndarray) -> list[int]:
    """The rows of phases [R, C] (columns in increasing order of the swept setting) in which a
    generalizing cell (comprehension or grokking) lies between a memorization cell and a
    confusion cell, in either order: the paper's "Goldilocks zone" along that axis.

    Example: a row memorization, grokking, confusion has one; memorization, confusion,
    comprehension does not (nothing generalizes between the two).
    """
    lines = []
    for r, row in enumerate(np.asarray(phases)):
        mem = [c for c, phase in enumerate(row) if phase == "memorization"]
        conf = [c for c, phase in enumerate(row) if phase == "confusion"]
        gen = [c for c, phase in enumerate(row) if phase in GENERALIZING]
        if any(min(a, b) < g < max(a, b) for a in mem for b in conf for g in gen):
            lines.append(r)
    return lines
