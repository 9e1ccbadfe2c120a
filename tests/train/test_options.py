"""Tests for src/groklab/train/options.py: how a run trains, one frozen object from the
command line through groklab.run.train, the trainer and every backend."""

import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch

from groklab.errors import GroklabError
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.sweep import LocalBackend, SweepSpec, run_sweep
from groklab.train import TrainOptions
from groklab.train.history import KeepRule

SPEC = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=20, eval_every=5),
    members=members_from(seed=[0, 1]),
)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"checkpoint_every": 0}, "checkpoint_every=0 must be a positive integer"),
        ({"checkpoint_every": True}, "checkpoint_every=True must be a positive integer"),
        ({"compile": "yes"}, "compile='yes' is not true or false"),
        ({"keep_checkpoints": "log:0"}, "keep_checkpoints='log:0' is not a rule"),
        ({"measures": "norm"}, "measures='norm' is not a function"),
    ],
)
def test_bad_options_are_one_line_naming_the_value(fields, message):
    with pytest.raises(GroklabError) as error:
        TrainOptions(**fields)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_rule_given_as_text_is_parsed_once_and_options_are_frozen():
    options = TrainOptions(keep_checkpoints="every:10")
    assert options.keep_checkpoints == KeepRule("every", 10)
    with pytest.raises(AttributeError):
        options.device = "cpu"
    assert options.with_fields(device=None) is options  # None leaves a field as it is
    assert options.with_fields(device="cpu").keep_checkpoints == KeepRule("every", 10)
    with pytest.raises(TypeError, match="unknown training option"):
        options.with_fields(keep="every:5")


def test_portable_options_are_plain_data_and_a_measures_hook_does_not_travel():
    options = TrainOptions(device=torch.device("cpu"), keep_checkpoints="log:3")
    sent = pickle.loads(pickle.dumps(options.portable()))
    assert sent == TrainOptions(device="cpu", keep_checkpoints="log:3")
    hook = TrainOptions(measures=lambda flat, step: {})
    with pytest.raises(GroklabError, match="measures cannot travel to a sweep worker"):
        hook.portable()


def test_options_and_their_fields_as_keywords_train_the_same_run(tmp_path):
    with RunStore(tmp_path / "a") as a, RunStore(tmp_path / "b") as b:
        one = train(SPEC, a, TrainOptions(checkpoint_every=7, keep_checkpoints="every:10"))
        two = train(SPEC, b, checkpoint_every=7, keep_checkpoints="every:10")
        assert sorted(a.kept_checkpoints(SPEC.run_id)) == sorted(b.kept_checkpoints(SPEC.run_id))
    assert sorted(a.kept_checkpoints(SPEC.run_id)) == [0, 10, 20]
    for name in ("train_loss", "val_loss", "val_acc"):
        assert np.array_equal(one.curves[name], two.curves[name], equal_nan=True)


def test_measures_reach_the_evaluations_and_a_worker_pool_refuses_them_in_one_line(tmp_path):
    def hook(flat, step):
        return {"sum_sq": (flat.double() ** 2).sum(1).numpy()}

    with RunStore(tmp_path / "m") as store:
        result = train(SPEC, store, TrainOptions(measures=hook))
        stored = store.read_measures(SPEC.run_id, ["sum_sq"])
    assert stored["step"].tolist() == result.curves["step"].tolist()  # every evaluation
    assert stored["sum_sq"].shape == (2, len(stored["step"])) and (stored["sum_sq"] > 0).all()
    sweep = SweepSpec(replace(SPEC, members=SPEC.members[:1]), grid={"seed": [0, 1]}, max_members=1)
    pool = LocalBackend(workers=2)
    with pytest.raises(GroklabError, match="measures cannot travel"):
        run_sweep(sweep, tmp_path / "p", backend=pool, options=TrainOptions(measures=hook))
    assert not (tmp_path / "p" / "runs.sqlite").exists() or not RunStore(tmp_path / "p").list_runs()


def test_the_old_path_of_train_still_works_and_says_it_moved():
    import warnings

    import groklab.run
    import groklab.train

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from groklab.train import train as old
    assert old is groklab.run.train
    assert any("groklab.run.train" in str(w.message) for w in caught)
    assert all(issubclass(w.category, DeprecationWarning) for w in caught)
