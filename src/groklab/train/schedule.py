"""When to evaluate: densely (log-spaced) early, where grokking curves change fastest, then
every `eval_every` steps."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def early_eval_steps(eval_every: int) -> frozenset[int]:
    """About 12 log-spaced steps in [0, eval_every): e.g. eval_every=100 gives
    {0, 1, 2, 3, 4, 6, 8, 12, 17, 24, 35, 49, 70}."""
    if eval_every <= 1:
        return frozenset({0})
    points = np.unique(np.round(np.logspace(0, np.log10(eval_every), 14)).astype(int))
    return frozenset({0, *(int(s) for s in points if s < eval_every)})


def is_eval_step(step: int, eval_every: int) -> bool:
    return step % eval_every == 0 or step in early_eval_steps(eval_every)
