"""Tests for src/groklab/train/history.py: which steps `--keep-checkpoints` keeps."""

import pytest

from groklab.errors import GroklabError
from groklab.train.history import KeepRule
from groklab.train.schedule import is_eval_step


def test_none_keeps_nothing():
    assert KeepRule.parse("none").steps(total_steps=500, eval_every=50) == frozenset()


def test_every_n_keeps_the_first_evaluation_at_or_after_each_multiple_and_the_ends():
    kept = KeepRule.parse("every:30").steps(total_steps=100, eval_every=25)
    assert sorted(kept) == [0, 50, 75, 100]  # 30 -> 50, 60 -> 75, 90 -> 100


def test_log_n_spreads_steps_on_a_log_axis_at_evaluation_steps():
    kept = sorted(KeepRule.parse("log:12").steps(total_steps=20_000, eval_every=100))
    assert kept[0] == 0 and kept[-1] == 20_000
    assert all(is_eval_step(s, 100) or s == 20_000 for s in kept)
    ratios = [b / a for a, b in zip(kept[2:], kept[3:], strict=False)]  # after 0 and 1
    # early evaluations follow 1-2-5 per decade, so neighbours are at most 4x apart there
    assert 10 <= len(kept) <= 13 and max(ratios) <= 4 and min(ratios) > 1.2


@pytest.mark.parametrize("text", ["every", "every:0", "log:-2", "log:x", "all", "none:3", ""])
def test_bad_rule_is_one_line_naming_it_and_the_choices(text):
    with pytest.raises(GroklabError) as error:
        KeepRule.parse(text)
    message = str(error.value)
    assert "\n" not in message and repr(text) in message and "every:N, log:N" in message
