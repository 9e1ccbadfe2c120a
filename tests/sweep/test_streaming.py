"""Workers and Ray tasks stream evaluation events to the driver's sinks while they train."""

from pathlib import Path

import numpy as np

from groklab.events import BaseSink, EvalEvent
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.sweep import SweepSpec, run_sweep
from groklab.sweep.backend import LocalBackend
from groklab.sweep.remote import train_payload
from groklab.sweep.stream import EventRouter

BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=20, eval_every=5),
    members=members_from(seed=0),
)
SWEEP = SweepSpec(BASE, grid={"optim.optimizer": ["adamw", "adam"], "seed": [0, 1]})


class Recorder(BaseSink):
    """A mirror that remembers every call; with `flag`, touches it at the first evaluation."""

    def __init__(self, flag: Path | None = None) -> None:
        self.calls, self.flag = [], flag

    def on_start(self, run, step):
        self.calls.append(("start", run.run_id, step))

    def on_eval(self, event):
        self.calls.append(("eval", event.run_id, event.step, event.metrics["val_acc"].copy()))
        if self.flag is not None:
            self.flag.touch()

    def on_end(self, run_id, status, step):
        self.calls.append(("end", run_id, status))

    def evals(self, run_id):
        return [c for c in self.calls if c[0] == "eval" and c[1] == run_id]


def assert_mirror_matches_store(recorder, store, *, last_attempt_only=True):
    for run in store.list_runs():
        curves = store.read_curves(run.run_id)
        evals = recorder.evals(run.run_id)
        if not last_attempt_only:  # a retried run's earlier attempt logged its first steps too
            starts = [i for i, c in enumerate(recorder.calls) if c[:2] == ("start", run.run_id)]
            evals = [c for c in recorder.calls[starts[-1] :] if c[:2] == ("eval", run.run_id)]
        assert [c[2] for c in evals] == curves["step"].tolist()
        np.testing.assert_array_equal(np.stack([c[3] for c in evals], 1), curves["val_acc"])
        assert ("end", run.run_id, "done") in recorder.calls


def test_worker_processes_stream_every_evaluation_to_the_drivers_mirrors(tmp_path):
    recorder = Recorder()
    result = run_sweep(SWEEP, tmp_path, backend=LocalBackend(workers=2, sinks=[recorder]))
    store = RunStore(tmp_path)
    assert len(store.list_runs()) == 2 and len(result.rows) == 4
    assert_mirror_matches_store(recorder, store)


def test_in_process_mirrors_see_what_the_store_holds(tmp_path):
    recorder = Recorder()
    run_sweep(SWEEP, tmp_path, backend=LocalBackend(sinks=[recorder]))
    assert_mirror_matches_store(recorder, RunStore(tmp_path))


class FailingQueue:
    """Passes events on; on a population's first attempt, dies after the evaluation at step 10
    (a marker file per run remembers the failure)."""

    def __init__(self, events, marker: Path) -> None:
        self.events, self.marker = events, marker

    def put(self, item):
        self.events.put(item)
        if item[0] == "eval" and item[3].step == 10 and not self.marker.exists():
            self.marker.write_text("x")
            raise RuntimeError("worker lost mid-run")


def failing_mid_run(marker_dir):
    def task(spec_json, how, checkpoint, threads, *, events, tag, **options):
        marker = Path(marker_dir) / f"{tag}-{len(spec_json)}.failed"
        return train_payload(
            spec_json,
            how,
            checkpoint,
            threads,
            events=FailingQueue(events, marker),
            tag=tag,
            **options,
        )

    return task


def waiting_for_the_driver(flag):
    """Returns only once the driver has seen an evaluation: proves events arrive mid-run."""

    def task(spec_json, how, checkpoint, threads, *, events, tag, **options):
        import time

        payload = train_payload(
            spec_json, how, checkpoint, threads, events=events, tag=tag, **options
        )
        deadline = time.monotonic() + 30
        while not Path(flag).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the driver saw no event before the task ended")
            time.sleep(0.05)
        return payload

    return task


def test_ray_task_failing_mid_run_and_retried_gives_exactly_the_uninterrupted_curves(
    tmp_path, ray_local
):
    from groklab.sweep.ray_backend import RayBackend

    (tmp_path / "markers").mkdir()
    recorder = Recorder()
    task = failing_mid_run(str(tmp_path / "markers"))
    backend = RayBackend(task=task, max_retries=2, sinks=[recorder])
    run_sweep(SWEEP, tmp_path / "ray", backend=backend)
    assert len(list((tmp_path / "markers").iterdir())) == 2  # each population died once
    run_sweep(SWEEP, tmp_path / "local")
    ray_store, local_store = RunStore(tmp_path / "ray"), RunStore(tmp_path / "local")
    for run in local_store.list_runs():
        expected, got = local_store.read_curves(run.run_id), ray_store.read_curves(run.run_id)
        for name, values in expected.items():
            assert np.array_equal(values, got[name], equal_nan=True), name
    assert {r.status for r in ray_store.list_runs()} == {"done"}
    assert_mirror_matches_store(recorder, ray_store, last_attempt_only=False)
    for run in ray_store.list_runs():
        assert [c for c in recorder.calls if c[:2] == ("start", run.run_id)] == [
            ("start", run.run_id, 0)
        ] * 2


def event(step, value):
    return EvalEvent(
        BASE.run_id,
        step,
        20,
        {name: np.array([value]) for name in ("train_loss", "val_acc")},
        {"W_E": np.array([value])},
    )


def test_router_keeps_only_the_last_attempts_events(tmp_path):
    store = RunStore(tmp_path)
    router = EventRouter([BASE], store, [], None)
    router.handle(("start", 0, "first", 0))
    for step in (0, 5, 10):
        router.handle(("eval", 0, "first", event(step, 1.0)))
    router.handle(("start", 0, "second", 5))  # the retry resumes from a checkpoint at step 5
    router.handle(("eval", 0, "first", event(15, 1.0)))  # a late event of the dead attempt
    router.handle(("eval", 0, "second", event(5, 2.0)))
    curves = store.read_curves(BASE.run_id)
    assert curves["step"].tolist() == [0, 5]
    assert curves["val_acc"][0].tolist() == [1.0, 2.0]
    assert store.get_run(BASE.run_id).status == "running"


def test_ray_tasks_stream_events_before_they_end(tmp_path, ray_local):
    from groklab.sweep.ray_backend import RayBackend

    flag = tmp_path / "seen"
    recorder = Recorder(flag)
    backend = RayBackend(task=waiting_for_the_driver(str(flag)), max_retries=0, sinks=[recorder])
    run_sweep(SWEEP, tmp_path / "ray", backend=backend)
    assert_mirror_matches_store(recorder, RunStore(tmp_path / "ray"))
