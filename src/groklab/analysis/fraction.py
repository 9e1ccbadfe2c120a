"""Data efficiency: the smallest training fraction that generalizes within a step budget.

Power et al. 2022, Fig. 2 left: for each operation, the smallest training fraction at which
validation accuracy reaches 99 % within the optimization budget.
"""

from __future__ import annotations

import numpy as np


def smallest_fraction(fractions: np.ndarray, steps_to_val: np.ndarray, budget: float) -> float:
    """The smallest fraction whose median steps-to-99 %-validation is within `budget`; nan if none.

    `fractions` and `steps_to_val` are [N], one entry per run (several seeds may share a
    fraction). A run that never reached 99 % (nan) counts as never, so a fraction with half or
    more of its seeds never reaching it does not count. `steps <= budget` counts as within.
    Each fraction is judged on its own: a larger fraction that misses the budget does not
    disqualify a smaller one that meets it.

    Example: fractions [0.3, 0.3, 0.5, 0.5], steps [nan, 900, 400, 600], budget 1000
    -> 0.5 (the median at 0.3 is never; at 0.5 it is 500).
    """
    fractions = np.asarray(fractions, dtype=np.float64).reshape(-1)
    steps = np.asarray(steps_to_val, dtype=np.float64).reshape(-1)
    if fractions.shape != steps.shape:
        raise ValueError(
            f"fractions has {fractions.size} values and steps_to_val {steps.size}; "
            "give one of each per run"
        )
    if not np.isfinite(fractions).all():
        raise ValueError("fractions must be finite numbers")
    steps = np.where(np.isnan(steps), np.inf, steps)  # never reached = later than any budget
    for fraction in np.unique(fractions):  # sorted ascending
        if np.median(steps[fractions == fraction]) <= budget:
            return float(fraction)
    return float("nan")
