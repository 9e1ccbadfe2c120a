"""Ray's error path (issue 13 item 5): errors a retry cannot mend are not retried, and each
failed population is one line naming the driver's own file."""

import logging
from pathlib import Path

import pytest

from groklab.config import spec_from_json
from groklab.errors import GroklabError
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.sweep import SweepSpec, expand, pack, run_sweep
from groklab.sweep.remote import SCRATCH_PREFIX, train_payload

BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=20, eval_every=10),
    members=members_from(seed=0),
)
SWEEP = SweepSpec(BASE, grid={"optim.optimizer": ["adamw", "adam"]})  # two populations


def counting(marker_dir: str, fail_with: type[Exception] | None = None):
    """train_payload that leaves a file per attempt; with `fail_with`, population 0's
    attempts all raise it."""

    def task(spec_json, how, checkpoint, threads, **options):
        run_id = spec_from_json(spec_json).run_id
        attempts = len(list(Path(marker_dir).glob(f"{run_id}-*")))
        (Path(marker_dir) / f"{run_id}-{attempts}").write_text("x")
        if fail_with is not None and options["tag"] == 0:
            raise fail_with("the same every time\nsecond line")
        return train_payload(spec_json, how, checkpoint, threads, **options)

    return task


def attempts(marker_dir: Path, run_id: str) -> int:
    return len(list(marker_dir.glob(f"{run_id}-*")))


def failure_lines(caplog, run_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if run_id in r.getMessage()]


def test_a_corrupt_checkpoint_is_not_retried_and_names_the_stores_file(tmp_path, ray_local, caplog):
    from groklab.sweep.ray_backend import RayBackend

    markers = tmp_path / "markers"
    markers.mkdir()
    bad, good = pack(expand(SWEEP), SWEEP.max_members)
    root = tmp_path / "store"
    with RunStore(root) as store:
        store.checkpoint_path(bad.run_id).write_bytes(b"garbage, not a checkpoint")
    backend = RayBackend(task=counting(str(markers)), max_retries=2)
    with caplog.at_level(logging.WARNING), pytest.raises(GroklabError) as err:
        run_sweep(SWEEP, root, backend=backend)
    assert "1 of 2 populations failed" in str(err.value) and "\n" not in str(err.value)
    assert attempts(markers, bad.run_id) == 0  # refused by the driver: never sent, not retried
    (line,) = failure_lines(caplog, bad.run_id)
    assert str(RunStore(root).checkpoint_path(bad.run_id)) in line and "corrupt" in line
    assert SCRATCH_PREFIX not in line and "\n" not in line
    store = RunStore(root)
    assert store.get_run(good.run_id).status == "done"
    assert store.get_run(bad.run_id) is None or store.get_run(bad.run_id).status == "failed"


def test_an_error_that_persists_is_retried_then_one_line_and_the_rest_is_stored(
    tmp_path, ray_local, caplog
):
    from groklab.sweep.ray_backend import RayBackend

    markers = tmp_path / "markers"
    markers.mkdir()
    first, second = pack(expand(SWEEP), SWEEP.max_members)
    backend = RayBackend(task=counting(str(markers), RuntimeError), max_retries=1)
    with caplog.at_level(logging.WARNING), pytest.raises(GroklabError, match="1 of 2"):
        run_sweep(SWEEP, tmp_path / "store", backend=backend)
    assert attempts(markers, first.run_id) == 2  # Ray retried it once, as asked
    (line,) = failure_lines(caplog, first.run_id)
    assert line.endswith("RuntimeError: the same every time")
    assert RunStore(tmp_path / "store").get_run(second.run_id).status == "done"


def test_a_groklab_error_in_a_task_is_not_retried_and_the_rest_is_stored(
    tmp_path, ray_local, caplog
):
    from groklab.sweep.ray_backend import RayBackend

    markers = tmp_path / "markers"
    markers.mkdir()
    first, second = pack(expand(SWEEP), SWEEP.max_members)
    backend = RayBackend(task=counting(str(markers), GroklabError), max_retries=2)
    with caplog.at_level(logging.WARNING), pytest.raises(GroklabError, match="1 of 2"):
        run_sweep(SWEEP, tmp_path / "store", backend=backend)
    assert attempts(markers, first.run_id) == 1  # an error a retry cannot mend: tried once
    (line,) = failure_lines(caplog, first.run_id)
    assert "the same every time" in line and "\n" not in line
    assert RunStore(tmp_path / "store").get_run(second.run_id).status == "done"
