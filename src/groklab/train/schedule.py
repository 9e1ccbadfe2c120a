"""When to evaluate: densely (1-2-5 per decade) early, where grokking curves change fastest and
a log axis spreads them out, then every `eval_every` steps."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=64)
def early_eval_steps(eval_every: int) -> frozenset[int]:
    """Steps 0, 1, 2, 5, 10, 20, 50, ... below `eval_every`; eval_every=100 gives 7 of them."""
    steps, decade = {0}, 1
    while decade < eval_every:
        steps.update(s for s in (decade, 2 * decade, 5 * decade) if s < eval_every)
        decade *= 10
    return frozenset(steps)


def is_eval_step(step: int, eval_every: int) -> bool:
    return step % eval_every == 0 or step in early_eval_steps(eval_every)


def evaluated_before(step: int, eval_every: int, *, done: bool) -> list[int]:
    """The evaluation steps a run resumed at `step` has already recorded: those before it (the
    loop evaluates `step` itself again when it resumes there), and `step` too if it is `done`.

    Example: evaluated_before(12, 5, done=False) == [0, 1, 2, 5, 10]."""
    early = sorted(s for s in early_eval_steps(eval_every) if s < step)
    steps = sorted({*early, *range(0, step, eval_every)})
    return [*steps, step] if done and step not in steps else steps
