"""Which steps a run keeps the full state of, besides its resume point (`--keep-checkpoints`).

Grokking lives on a log axis, so besides `every:N` there is `log:N`: about N steps spread evenly
on a log axis from step 1 to the last. Kept steps are always evaluation steps (so a kept
member's stored metrics exist at the same step), step 0 (the initialization) is always kept,
and so is the step a run ends at (its last step, or the one where it stopped early).

    >>> sorted(KeepRule.parse("log:5").steps(total_steps=1000, eval_every=100))
    [0, 1, 5, 20, 200, 1000]
    >>> sorted(KeepRule.parse("every:400").steps(total_steps=1000, eval_every=100))
    [0, 400, 800, 1000]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from groklab.errors import GroklabError
from groklab.train.schedule import is_eval_step

KINDS = ("none", "every:N", "log:N")


@dataclass(frozen=True)
class KeepRule:
    kind: str = "none"  # none, every or log
    n: int = 0

    @classmethod
    def parse(cls, text: str) -> KeepRule:
        """'none', 'every:N' or 'log:N' (N a positive integer)."""
        kind, _, count = str(text).strip().partition(":")
        if kind == "none" and not count:
            return cls()
        if kind in ("every", "log") and count.isdigit() and int(count) >= 1:
            return cls(kind, int(count))
        raise GroklabError(f"keep_checkpoints={text!r} is not a rule; allowed: {', '.join(KINDS)}")

    @property
    def text(self) -> str:
        """The rule as `parse` reads it: 'none', 'every:N' or 'log:N'."""
        return "none" if self.kind == "none" else f"{self.kind}:{self.n}"

    @property
    def keeps_any(self) -> bool:
        return self.kind != "none"

    def steps(self, total_steps: int, eval_every: int) -> frozenset[int]:
        """The kept steps of a run of `total_steps` evaluated on the usual schedule."""
        if not self.keeps_any:
            return frozenset()
        evals = [s for s in range(total_steps + 1) if is_eval_step(s, eval_every)]
        if evals[-1] != total_steps:
            evals.append(total_steps)
        if self.kind == "every":
            wanted = range(0, total_steps + 1, self.n)
            kept = {evals[bisect.bisect_left(evals, s)] for s in wanted}
        else:
            wanted = np.geomspace(1, total_steps, self.n) if total_steps > 1 else [1]
            kept = {_nearest(evals, float(s)) for s in wanted}
        return frozenset(kept | {0, total_steps})


def _nearest(sorted_steps: list[int], target: float) -> int:
    """The step of `sorted_steps` nearest to `target` on a log axis (target >= 1)."""
    i = bisect.bisect_left(sorted_steps, target)
    candidates = [s for s in sorted_steps[max(0, i - 1) : i + 1] if s >= 1]
    return min(candidates, key=lambda s: abs(np.log(s) - np.log(target)))
