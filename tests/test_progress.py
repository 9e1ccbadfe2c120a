"""The one progress display: a train run's steps, a sweep's member-steps, successive sweeps."""

import numpy as np

from groklab.progress import ProgressDisplay
from groklab.sweep.base import SweepProgress
from groklab.train.events import EvalEvent


def sweep_event(done, total, step, steps):
    return SweepProgress(done, total, done, total, step, steps)


def test_successive_sweeps_add_up_and_the_bar_never_overshoots():
    display = ProgressDisplay(unit="member-step")
    totals = []
    for steps in (40, 40, 10):  # an experiment calling the runner three times
        for step in (0, steps // 2, steps):
            display.sweep(sweep_event(int(step == steps), 1, step, steps))
            totals.append((display.bar.n, display.bar.total))
    display.close()
    assert totals[-1] == (90, 90)
    assert all(n <= total for n, total in totals)
    assert [n for n, _ in totals] == sorted(n for n, _ in totals)


def test_a_sweep_found_done_starts_the_bar_full():
    with ProgressDisplay() as display:
        display.sweep(sweep_event(2, 2, 80, 80))
        assert (display.bar.n, display.bar.total) == (80, 80)


def test_a_train_run_shows_its_step_and_the_members_accuracies():
    metrics = {"train_acc": np.array([1.0, 0.5]), "val_acc": np.array([0.25, 0.75])}
    with ProgressDisplay() as display:
        display.on_eval(EvalEvent("r-0000000000", 50, 200, metrics, {}))
        assert (display.bar.n, display.bar.total) == (50, 200)
        assert "val 0.500 [0.25-0.75]" in display.bar.postfix
