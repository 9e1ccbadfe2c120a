"""The loop's events: which sink calls come when, the store first, and nothing trained differs."""

import numpy as np
import pytest

from groklab.events import BaseSink, emit_end
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.store.sink import StoreSink
from groklab.train import TrainingInterrupted


def spec(steps=20):
    return RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(steps=steps, eval_every=10),
        members=members_from(seed=[0, 1], train_fraction=0.6),
    )


class Recorder(BaseSink):
    def __init__(self, store=None, interrupt_at=None):
        self.calls, self.store, self.interrupt_at = [], store, interrupt_at

    def on_start(self, run, step):
        self.calls.append(("start", step))

    def on_eval(self, event):
        stored = self.store.read_curves(event.run_id)["step"] if self.store else []
        self.calls.append(("eval", event.step, event.step in stored))
        if event.step == self.interrupt_at:
            raise KeyboardInterrupt

    def on_end(self, run_id, status, step):
        self.calls.append(("end", status, step))


def test_sinks_hear_start_then_each_evaluation_then_the_end(tmp_path):
    recorder = Recorder()
    result = train(spec(), RunStore(tmp_path), sinks=[recorder])
    evals = [("eval", int(s), False) for s in result.curves["step"]]
    assert recorder.calls == [("start", 0), *evals, ("end", "done", 20)]


def test_a_mirror_only_sees_evaluations_the_store_already_holds(tmp_path):
    store = RunStore(tmp_path)
    recorder = Recorder(store)
    train(spec(), store, sinks=[recorder])
    assert all(call[2] for call in recorder.calls if call[0] == "eval")


def test_an_evaluation_the_store_refuses_never_reaches_a_mirror(tmp_path, monkeypatch):
    def refuse(self, event):
        raise OSError("disk full")

    monkeypatch.setattr(StoreSink, "on_eval", refuse)
    recorder = Recorder()
    with pytest.raises(OSError, match="disk full"):
        train(spec(), RunStore(tmp_path), sinks=[recorder])
    assert recorder.calls == [("start", 0), ("end", "failed", 0)]
    assert RunStore(tmp_path).get_run(spec().run_id).status == "failed"


def test_a_resumed_run_starts_its_sinks_at_the_checkpoint_step(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(TrainingInterrupted):
        train(spec(), store, sinks=[Recorder(interrupt_at=10)])
    again = Recorder()
    train(spec(), store, sinks=[again])
    assert again.calls[0] == ("start", 10) and again.calls[-1] == ("end", "done", 20)
    done = Recorder()
    train(spec(), store, sinks=[done])  # a done run trains nothing and calls no sink
    assert done.calls == []


def test_a_sink_never_changes_what_is_trained(tmp_path):
    plain = train(spec(), RunStore(tmp_path / "a"))
    heard = train(spec(), RunStore(tmp_path / "b"), sinks=[Recorder(), Recorder()])
    for name, values in plain.curves.items():
        assert np.array_equal(values, heard.curves[name], equal_nan=True), name


def test_every_sink_hears_the_end_even_when_one_fails():
    class Broken(BaseSink):
        def on_end(self, run_id, status, step):
            raise RuntimeError("broken mirror")

    recorder = Recorder()
    with pytest.raises(RuntimeError, match="broken mirror"):
        emit_end([Broken(), recorder], "r-0000000000", "done", 5)
    assert recorder.calls == [("end", "done", 5)]
