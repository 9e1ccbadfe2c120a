"""A writer killed during a checkpoint save leaves a hidden temp file; training the run again
removes that run's, and leaves a live writer's and other runs' alone (issue 13 item 4)."""

import os
import subprocess
import sys

from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore

SPEC = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=10, eval_every=5),
    members=members_from(seed=0),
)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_training_removes_the_runs_stale_temp_files_only(tmp_path):
    store = RunStore(tmp_path)
    folder = tmp_path / "checkpoints"
    (folder / SPEC.run_id).mkdir(parents=True)
    dead = dead_pid()
    stale = [
        folder / f".{SPEC.run_id}.pt.{dead}.0a1b2c3d.tmp",
        folder / SPEC.run_id / f".step-5.pt.{dead}.0a1b2c3d.tmp",
    ]
    live = folder / f".{SPEC.run_id}.pt.{os.getpid()}.0a1b2c3d.tmp"
    other = folder / f".r-0000000000.pt.{dead}.0a1b2c3d.tmp"  # another run's: not ours to touch
    for path in [*stale, live, other]:
        path.write_bytes(b"half a checkpoint")
    train(SPEC, store)
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    assert store.get_run(SPEC.run_id).status == "done"
