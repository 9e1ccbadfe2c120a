"""The one progress display of the CLI (`train`, `sweep`, `reproduce`): a tqdm bar on stderr.

Library code never prints; the CLI builds a `ProgressDisplay` and hands it over, as a sink
(`train`: steps of one run, the members' accuracies as postfix) or as a `progress=` callback
of sweeps (`sweep`, `reproduce`: member-steps, populations done as postfix).

An experiment may run several sweeps one after another, each reporting its own totals; the
display adds them up, so its total grows when a new sweep starts and the bar never overshoots.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from groklab.sweep.base import SweepProgress
from groklab.train.events import BaseSink, EvalEvent


def _summary(values: np.ndarray) -> str:
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{np.median(values):.3f} [{values.min():.2f}-{values.max():.2f}]"


class ProgressDisplay(BaseSink):
    """Starts at the first event (so an early error is the only line on stderr), where the
    work is: a resumed run's step, or the member-steps of populations reused from the store."""

    def __init__(self, *, unit: str = "step") -> None:
        self.unit = unit
        self.bar: tqdm | None = None
        self.offset = 0  # work of the sweeps finished before the current one
        self.last: SweepProgress | None = None

    def _show(self, done: int, total: int, postfix: str) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=total, initial=done, unit=self.unit, dynamic_ncols=True, smoothing=0.1
            )
        if total != self.bar.total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(postfix)

    def on_eval(self, event: EvalEvent) -> None:
        m = event.metrics
        postfix = f"train {_summary(m['train_acc'])} val {_summary(m['val_acc'])}"
        self._show(event.step, event.steps, postfix)

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
