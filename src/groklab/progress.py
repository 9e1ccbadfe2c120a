"""The one progress display of the CLI (`train`, `sweep`, `reproduce`): a tqdm bar on stderr.

Library code never prints; the CLI builds a `ProgressDisplay` and hands it over, as a sink
(`train`: steps of one run, the members' accuracies as postfix) or as a `progress=` callback
of sweeps (`sweep`, `reproduce`: member-steps, populations done as postfix).

An experiment may run several sweeps one after another, each reporting its own totals; the
display adds them up, so its total grows when a new sweep starts and the bar never overshoots.

A run with a stop rule (`stop_at_val_acc` > 0) usually ends long before `--steps`, so its bar
shows no time remaining (none would be honest) but what it waits for: the worst member's
val_acc against the threshold. At the end one line says which rule stopped the run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from groklab.events import BaseSink, EvalEvent, RunInfo
from groklab.sweep.base import SweepProgress

# tqdm's default bar without "<remaining": the step budget is only an upper bound
NO_ETA_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]"


def _summary(values: np.ndarray) -> str:
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{np.median(values):.3f} [{values.min():.2f}-{values.max():.2f}]"


@dataclass(frozen=True)
class StopRule:
    """`[train] stop_at_val_acc` and `stop_patience`, as the loop's `_should_stop` reads them."""

    threshold: float
    patience: int

    @classmethod
    def of(cls, run: RunInfo) -> StopRule | None:
        from groklab.config import spec_from_json

        train = spec_from_json(run.spec_json).train
        if train.stop_at_val_acc <= 0:
            return None
        return cls(train.stop_at_val_acc, train.stop_patience)

    def waiting(self, val_acc: np.ndarray, hits: np.ndarray) -> str:
        """'waiting for member 2 val 0.830 -> 0.99': the member furthest from stopping."""
        if (hits >= self.patience).all():
            return f"every member at val >= {self.threshold:g}"
        worst = int(np.lexsort((val_acc, hits))[0])  # fewest evaluations held, then lowest val
        held = f" (held {hits[worst]}/{self.patience})" if self.patience > 1 else ""
        return f"waiting for member {worst} val {val_acc[worst]:.3f} -> {self.threshold:g}{held}"

    def reason(self, step: int) -> str:
        times = "evaluation" if self.patience == 1 else "evaluations in a row"
        return (
            f"stopped at step {step:,}: every member held val_acc >= {self.threshold:g} "
            f"for {self.patience} {times}"
        )


class ProgressDisplay(BaseSink):
    """Starts at the first event (so an early error is the only line on stderr), where the
    work is: a resumed run's step, or the member-steps of populations reused from the store."""

    def __init__(self, *, unit: str = "step", eta: bool = True) -> None:
        """eta=False: no time remaining (a sweep whose runs may stop before their budget)."""
        self.unit = unit
        self.eta = eta
        self.bar: tqdm | None = None
        self.offset = 0  # work of the sweeps finished before the current one
        self.last: SweepProgress | None = None
        self.rule: StopRule | None = None
        self.hits: np.ndarray | None = None  # [M] evaluations in a row at or above the threshold
        self.steps = 0  # the run's step budget
        self.end_line: str | None = None

    def _show(self, done: int, total: int, postfix: str) -> None:
        if self.bar is None:
            fmt = NO_ETA_FORMAT if self.rule is not None or not self.eta else None
            self.bar = tqdm(
                total=total,
                initial=done,
                unit=self.unit,
                dynamic_ncols=True,
                smoothing=0.1,
                bar_format=fmt,
            )
        if total != self.bar.total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(postfix)

    def on_start(self, run: RunInfo, step: int) -> None:
        self.rule, self.steps, self.hits = StopRule.of(run), run.steps, None

    def on_eval(self, event: EvalEvent) -> None:
        m = event.metrics
        postfix = f"train {_summary(m['train_acc'])} val {_summary(m['val_acc'])}"
        if self.rule is not None:
            reached = m["val_acc"] >= self.rule.threshold
            hits = self.hits if self.hits is not None else np.zeros(reached.size, dtype=int)
            self.hits = np.where(reached, hits + 1, 0)
            postfix += f", {self.rule.waiting(m['val_acc'], self.hits)}"
        self.steps = event.steps
        self._show(event.step, event.steps, postfix)

    def on_end(self, run_id: str, status: str, step: int) -> None:
        """A finished run's last line: which rule stopped it."""
        if status != "done":
            return
        held = self.hits is not None and self.rule is not None
        if self.rule is not None and (step < self.steps or (held and self._all_held())):
            self.end_line = self.rule.reason(step)  # a resumed run may end before it evaluates
            if self.bar is not None:  # the budget was an upper bound: the work is done
                self.bar.total = self.bar.n
                self.bar.refresh()
        else:
            self.end_line = f"reached --steps {step:,}"
        self.close()
        tqdm.write(self.end_line, file=sys.stderr)  # the bar is closed: a plain line below it

    def _all_held(self) -> bool:
        return bool((self.hits >= self.rule.patience).all())

    def update(self, event: EvalEvent) -> None:
        """The `progress=` callback form of on_eval."""
        self.on_eval(event)

    def sweep(self, event: SweepProgress) -> None:
        """A sweep's progress; a new sweep (its totals change, or its count restarts) adds on."""
        last = self.last
        finished = last is not None and last.populations_done == last.populations
        if last is not None and (finished or event.steps != last.steps or event.step < last.step):
            self.offset += last.steps
        self.last = event
        postfix = f"populations {event.populations_done}/{event.populations}"
        self._show(self.offset + event.step, self.offset + event.steps, postfix)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
