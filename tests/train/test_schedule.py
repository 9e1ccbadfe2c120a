from groklab.train.schedule import early_eval_steps, is_eval_step


def test_early_evaluations_are_one_two_five_per_decade_below_eval_every():
    assert sorted(early_eval_steps(100)) == [0, 1, 2, 5, 10, 20, 50]
    assert sorted(early_eval_steps(1000)) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500]
    assert sorted(early_eval_steps(1)) == [0]


def test_after_the_early_phase_every_eval_every_steps():
    evals = [s for s in range(1001) if is_eval_step(s, 100)]
    assert evals == [0, 1, 2, 5, 10, 20, 50, *range(100, 1001, 100)]
