"""The one progress display: a train run's steps, a sweep's member-steps, successive sweeps."""

import numpy as np

from groklab.events import EvalEvent, RunInfo
from groklab.progress import ProgressDisplay
from groklab.spec import MemberSpec, RunSpec, TrainSpec
from groklab.sweep.base import SweepProgress


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


def run_info(**train) -> RunInfo:
    spec = RunSpec(train=TrainSpec(steps=1000, **train), members=(MemberSpec(), MemberSpec(seed=1)))
    return RunInfo.of(spec)


def eval_event(step: int, val_acc: list[float]) -> EvalEvent:
    metrics = {"train_acc": np.ones(len(val_acc)), "val_acc": np.array(val_acc)}
    return EvalEvent("r-0000000000", step, 1000, metrics, {})


def test_a_run_without_a_stop_rule_shows_the_time_remaining():
    with ProgressDisplay() as display:
        display.on_start(run_info(), 0)
        display.on_eval(eval_event(100, [0.5, 0.8]))
        assert "<" in str(display.bar) and "waiting" not in display.bar.postfix


def test_a_run_with_a_stop_rule_shows_no_eta_but_the_worst_member_against_the_threshold():
    with ProgressDisplay() as display:
        display.on_start(run_info(stop_at_val_acc=0.99), 0)
        display.on_eval(eval_event(100, [0.995, 0.83]))
        assert "<" not in str(display.bar)
        assert "waiting for member 1 val 0.830 -> 0.99" in display.bar.postfix


def test_with_patience_the_member_that_held_fewest_evaluations_is_the_one_waited_for():
    with ProgressDisplay() as display:
        display.on_start(run_info(stop_at_val_acc=0.9, stop_patience=3), 0)
        display.on_eval(eval_event(100, [0.95, 0.5]))
        display.on_eval(eval_event(200, [0.5, 0.95]))  # member 0 fell back: held 0, member 1: 1
        assert "waiting for member 0 val 0.500 -> 0.9 (held 0/3)" in display.bar.postfix


def test_an_early_stop_ends_with_a_line_naming_the_rule_and_a_full_bar(capsys):
    display = ProgressDisplay()
    display.on_start(run_info(stop_at_val_acc=0.99), 0)
    display.on_eval(eval_event(4100, [0.995, 1.0]))
    display.on_end("r-0000000000", "done", 4100)
    err = capsys.readouterr().err
    line = "stopped at step 4,100: every member held val_acc >= 0.99 for 1 evaluation"
    assert err.rstrip().endswith(line)
    assert display.bar.n == display.bar.total == 4100


def test_a_run_that_used_its_budget_ends_with_reached_steps(capsys):
    display = ProgressDisplay()
    display.on_start(run_info(stop_at_val_acc=0.99), 0)
    display.on_eval(eval_event(1000, [0.5, 1.0]))
    display.on_end("r-0000000000", "done", 1000)
    assert capsys.readouterr().err.rstrip().endswith("reached --steps 1,000")


def test_an_interrupted_run_has_no_end_line(capsys):
    display = ProgressDisplay()
    display.on_start(run_info(stop_at_val_acc=0.99), 0)
    display.on_eval(eval_event(100, [0.5, 1.0]))
    display.on_end("r-0000000000", "interrupted", 150)
    display.close()
    assert display.end_line is None and "stopped" not in capsys.readouterr().err


def test_a_sweep_display_without_eta_shows_no_time_remaining():
    with ProgressDisplay(unit="member-step", eta=False) as display:
        display.sweep(sweep_event(0, 2, 10, 80))
        assert "<" not in str(display.bar) and "10/80" in str(display.bar)
    with ProgressDisplay(unit="member-step") as display:
        display.sweep(sweep_event(0, 2, 10, 80))
        assert "<" in str(display.bar)
