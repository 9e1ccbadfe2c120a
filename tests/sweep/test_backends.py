import sys

import numpy as np
import pytest

from groklab.config import spec_from_json
from groklab.errors import GroklabError
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, canonical_json, members_from
from groklab.store import RunStore
from groklab.sweep import SweepSpec, run_sweep
from groklab.sweep.backend import LocalBackend, get_backend
from groklab.sweep.remote import record_payload, train_payload
from groklab.train import TrainOptions

BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=20, eval_every=10),
    members=members_from(seed=0),
)
# two shapes (two populations), two seeds each
SWEEP = SweepSpec(BASE, grid={"optim.optimizer": ["adamw", "adam"], "seed": [0, 1]})
COLUMNS = ("steps_to_train", "final_train_acc", "final_val_acc", "final_weight_norm")


def assert_same_numbers(a, b):
    assert [r["run_id"] for r in a.rows] == [r["run_id"] for r in b.rows]
    for name in COLUMNS:
        np.testing.assert_allclose(a.column(name), b.column(name), rtol=1e-6, equal_nan=True)


def test_spec_survives_the_trip_to_a_worker_with_the_same_id():
    spec = SWEEP.base
    assert spec_from_json(canonical_json(spec)).run_id == spec.run_id


def test_recording_a_payload_twice_never_duplicates_metrics(tmp_path):
    payload = train_payload(canonical_json(BASE), TrainOptions(device="cpu"), None)
    store = RunStore(tmp_path)
    first = record_payload(store, BASE, payload)
    second = record_payload(store, BASE, payload)
    assert store.get_run(BASE.run_id).status == "done"
    assert np.array_equal(first.curves["train_loss"], second.curves["train_loss"])
    assert first.curves["step"].tolist() == sorted(set(first.curves["step"].tolist()))


def test_worker_processes_give_the_same_numbers_as_in_process(tmp_path):
    inline = run_sweep(SWEEP, tmp_path / "a")
    pooled = run_sweep(SWEEP, tmp_path / "b", backend=LocalBackend(workers=2))
    assert_same_numbers(inline, pooled)
    assert {r.status for r in RunStore(tmp_path / "b").list_runs()} == {"done"}


def test_workers_must_be_a_positive_integer():
    with pytest.raises(GroklabError, match="workers=0"):
        get_backend("local", workers=0)


def test_ray_backend_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(GroklabError, match=r"groklab\[ray\]"):
        get_backend("ray")


def flaky_task(marker_dir):
    """Fails on its first attempt for each spec (a marker file remembers), then trains."""
    from pathlib import Path

    def task(spec_json, how, checkpoint, threads, **stream):
        marker = Path(marker_dir) / (spec_from_json(spec_json).run_id + ".failed")
        if not marker.exists():
            marker.write_text("x")
            raise RuntimeError("worker lost")
        return train_payload(spec_json, how, checkpoint, threads, **stream)

    return task


def test_ray_sweep_gives_the_same_numbers_as_local(tmp_path, ray_local):
    local = run_sweep(SWEEP, tmp_path / "local")
    remote = run_sweep(SWEEP, tmp_path / "ray", backend=get_backend("ray"))
    assert_same_numbers(local, remote)


def test_ray_task_that_fails_is_retried_and_its_metrics_written_once(tmp_path, ray_local):
    from groklab.sweep.ray_backend import RayBackend

    (tmp_path / "markers").mkdir()
    backend = RayBackend(task=flaky_task(str(tmp_path / "markers")), max_retries=2)
    result = run_sweep(SWEEP, tmp_path / "ray", backend=backend)
    assert len(list((tmp_path / "markers").iterdir())) == 2  # each population failed once
    local = run_sweep(SWEEP, tmp_path / "local")
    assert_same_numbers(local, result)
    store = RunStore(tmp_path / "ray")
    for run in store.list_runs():
        curves = store.read_curves(run.run_id)
        assert len(curves["step"]) == len(set(curves["step"].tolist()))


def test_an_experiment_reproduced_on_ray_writes_what_it_writes_locally(tmp_path, ray_local):
    """`groklab reproduce NAME --backend ray`, as a cluster runs a paper size: the micro size of
    an experiment that trains several populations, its CSV and Markdown the same as locally."""
    from groklab.experiments import ExperimentContext, get_experiment

    written = {}
    for name in ("local", "ray"):
        out = tmp_path / name / "out"
        out.mkdir(parents=True)
        ctx = ExperimentContext("micro", out, tmp_path / name / "store", backend=name)
        get_experiment("power2022-interventions").run(ctx)
        files = sorted(p for p in out.rglob("*") if p.suffix in (".csv", ".md"))
        written[name] = {p.relative_to(out): p.read_text() for p in files}
    assert len(written["local"]) >= 2 and written["ray"] == written["local"]
