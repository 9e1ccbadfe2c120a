"""The headline result, end to end (slow: about 1-3 minutes on 2 CPU cores; `pytest -m slow`)."""

import pytest
import torch

from groklab.run import train
from groklab.spec import DataSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore


@pytest.mark.slow
def test_division_mod_97_groks_long_after_memorizing(tmp_path):
    torch.set_num_threads(2)
    spec = RunSpec(
        data=DataSpec(op="div", p=97),
        train=TrainSpec(steps=8000, stop_at_val_acc=0.99),
        members=members_from(seed=0, train_fraction=0.5, lr=1e-3, weight_decay=1.0),
    )
    result = train(spec, RunStore(tmp_path))
    assert result.curves["val_acc"][0, -1] >= 0.99
    # memorization comes first, generalization much later: the grokking delay
    assert result.steps_to_train[0] * 2 <= result.steps_to_val[0]
