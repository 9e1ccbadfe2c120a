"""Numbers from metric curves: when a member reached a threshold, how long grokking took, and
medians over members and over time.

Curves are numpy arrays as `RunStore.read_curves` returns them: `steps` is [S] and a metric is
[S] for one member or [M, S] for a population (the member axis first).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def steps_to_threshold(
    steps: np.ndarray, acc: np.ndarray, threshold: float = 0.99
) -> float | np.ndarray:
    """First step at which acc >= threshold; nan if never reached.

    `acc` [S] gives a float, `acc` [M, S] gives one value per member, [M]. NaN (not evaluated)
    never counts as reached. Example: steps [0, 10, 20], acc [0.5, 0.995, 0.9] -> 10.0.
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=np.float64)
    if acc.ndim not in (1, 2) or acc.shape[-1] != steps.shape[0] or steps.ndim != 1:
        raise ValueError(f"acc has shape {acc.shape}; expected [S] or [M, S] with S={steps.size}")
    hit = acc >= threshold  # [..., S]  nan compares False
    if steps.size == 0:
        result = np.full(acc.shape[:-1], np.nan)
    else:  # argmax finds the first True; rows with none are masked to nan
        result = np.where(hit.any(axis=-1), steps[hit.argmax(axis=-1)], np.nan).astype(np.float64)
    return float(result) if acc.ndim == 1 else result


def grokking_delay(
    steps: np.ndarray, train_acc: np.ndarray, val_acc: np.ndarray, threshold: float = 0.99
) -> float | np.ndarray:
    """Steps from reaching `threshold` on train to reaching it on validation; nan if either never.

    Example: train reaches 0.99 at step 100, validation at step 10_000 -> 9900.0.
    """
    to_train = steps_to_threshold(steps, train_acc, threshold)
    to_val = steps_to_threshold(steps, val_acc, threshold)
    return to_val - to_train


def median_and_range(values: np.ndarray) -> tuple[float, float, float, int]:
    """(median, min, max) over the finite values, and how many are not finite (never reached).

    Example: [300, 100, nan, 200] -> (200.0, 100.0, 300.0, 1); all nan -> (nan, nan, nan, n).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    n_missing = int(values.size - finite.size)
    if finite.size == 0:
        return float("nan"), float("nan"), float("nan"), n_missing
    return float(np.median(finite)), float(finite.min()), float(finite.max()), n_missing


def acc_at(steps: np.ndarray, acc: np.ndarray, step: float) -> float:
    """The value at the last evaluation at or before `step`; nan if `step` is nan or past the
    last evaluation (the run never got there)."""
    if not np.isfinite(step) or step > steps[-1]:
        return float("nan")
    seen = np.flatnonzero(steps <= step)
    return float(acc[seen[-1]]) if seen.size else float("nan")


def median_never_last(values: np.ndarray) -> np.ndarray:
    """[F, S] -> [F]: the median over seeds with nan counted as +inf (inf = never)."""
    values = np.where(np.isnan(values), np.inf, np.asarray(values, dtype=np.float64))
    return np.median(values, axis=1)


def member_median(values: np.ndarray) -> np.ndarray:
    """[M, S] -> [S], ignoring members not evaluated at a step (all-nan steps stay nan)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns
        return np.nanmedian(values, axis=0)


def late_median(steps: np.ndarray, acc: np.ndarray, share: float) -> float:
    """Median of `acc` over the evaluations in the last `share` of the steps."""
    late = acc[steps >= steps[-1] * (1 - share)]
    return float(np.nanmedian(late)) if np.isfinite(late).any() else float("nan")


def smoothed(acc: np.ndarray) -> np.ndarray:
    """Running median of 3 evaluations (the ends kept): one lucky evaluation of a small test
    set does not make a peak.

    Example: smoothed([0.5, 0.9, 0.5, 0.6, 0.7]) == [0.5, 0.5, 0.6, 0.6, 0.7].
    """
    acc = np.asarray(acc, dtype=np.float64)
    if acc.size < 3:
        return acc.copy()
    middle = np.median(np.stack([acc[:-2], acc[1:-1], acc[2:]]), axis=0)
    return np.concatenate([acc[:1], middle, acc[-1:]])


def curve_ends(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """One member's curves ({"step": [S], metric: [1, S]}) at their ends: the final train and
    validation accuracy, the weight norm at the first and last evaluation, the last step."""
    train, val, norm = curves["train_acc"][0], curves["val_acc"][0], curves["weight_norm"][0]
    return {
        "final_train_acc": float(train[-1]),
        "final_val_acc": float(val[-1]),
        "initial_weight_norm": float(norm[0]),
        "final_weight_norm": float(norm[-1]),
        "steps_done": float(curves["step"][-1]),
    }


def stack_members(curves: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Members evaluated at the same steps ({"step": [S], metric: [1, S]} each) as one [M, S]
    set of curves, for one CSV file."""
    return {
        k: v if k == "step" else np.concatenate([c[k] for c in curves])
        for k, v in curves[0].items()
    }


def stack_seeds(curves: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A panel's curves over its seeds as one set, a member per seed (the steps of the
    shortest, where an early stop cut some short)."""
    n = min(len(c["step"]) for c in curves)
    return stack_members([{k: v[..., :n] for k, v in c.items()} for c in curves])
