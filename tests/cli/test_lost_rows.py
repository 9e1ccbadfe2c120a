"""A store that lost rows says so (issue 21 item 2): a resume point ahead of the store's rows
(runs.sqlite emptied, deleted, or its tail lost) is refused in one line that offers --rewind;
--rewind retrains from the last step both hold and ends with every row of an uninterrupted run.
A run whose final checkpoint exists but whose status write was lost is marked done."""

import sqlite3

import numpy as np
import pytest

import groklab.train.loop as loop
from groklab.store import RunStore

from .test_checkpoint_binding import A, run_id
from .test_checkpoint_integrity import files
from .test_run_lock import hold

KEEP = ["--keep-checkpoints", "every:5"]


def train_cli(run_cli, store, *more):
    return run_cli(["train", *A, "--store", str(store), "--checkpoint-every", "4", *more])


@pytest.fixture
def uninterrupted(run_cli, tmp_path) -> dict:
    status, _, err = train_cli(run_cli, tmp_path / "straight")
    assert status == 0, err
    with RunStore(tmp_path / "straight") as s:
        return s.read_curves(run_id(A))


@pytest.fixture
def interrupted(run_cli, tmp_path, monkeypatch):
    """Run A (20 steps, evaluations at 0 1 2 5 10 15 20) stopped by Ctrl-C after step 12,
    with kept checkpoints at 5 and 10 and its resume point at 12."""
    store, step = tmp_path / "s", loop.train_step

    def interrupted_step(state, *args):
        if state.step + 1 == 13:
            raise KeyboardInterrupt
        return step(state, *args)

    with monkeypatch.context() as patch:
        patch.setattr(loop, "train_step", interrupted_step)
        status, _, err = train_cli(run_cli, store, *KEEP)
    assert status == 130, err
    return store


def same_curves(store, expected: dict) -> bool:
    with RunStore(store) as s:
        got = s.read_curves(run_id(A))
    return all(np.array_equal(expected[k], got[k], equal_nan=True) for k in expected)


def refused_offering_rewind(run_cli, store, rewind_to: int) -> None:
    before = files(store)
    status, _, err = train_cli(run_cli, store, *KEEP)
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "checkpoint" in err and "at step 12" in err and "--rewind" in err, err
    assert f"retrain from step {rewind_to}" in err, err
    assert files(store) == before
    with RunStore(store) as s:
        record = s.get_run(run_id(A))
        assert record is None or record.status != "done"


@pytest.mark.parametrize("damage", ["emptied", "deleted"])
def test_a_store_emptied_under_its_checkpoints_is_refused_then_rewound_to_step_0(
    run_cli, interrupted, uninterrupted, damage
):
    store = interrupted
    for suffix in ("", "-wal", "-shm"):
        (store / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    if damage == "emptied":
        (store / "runs.sqlite").write_bytes(b"")
    refused_offering_rewind(run_cli, store, rewind_to=0)
    status, _, err = train_cli(run_cli, store, *KEEP, "--rewind")
    assert status == 0, err
    assert same_curves(store, uninterrupted)  # every row, recorded again, the same numbers


def test_a_lost_tail_of_rows_rewinds_to_the_last_kept_checkpoint_they_cover(
    run_cli, interrupted, uninterrupted, caplog
):
    store = interrupted
    conn = sqlite3.connect(store / "runs.sqlite")
    conn.execute("DELETE FROM measures WHERE step > 5")  # rows of step 10 lost
    conn.commit()
    conn.close()
    refused_offering_rewind(run_cli, store, rewind_to=10)  # rows 0..5 cover kept step 10
    status, _, err = train_cli(run_cli, store, *KEEP, "--rewind")
    assert status == 0, err
    assert any("rewound to step 10" in r.getMessage() for r in caplog.records)
    assert same_curves(store, uninterrupted)


def test_a_store_whose_rows_cover_the_resume_point_resumes_without_a_word(
    run_cli, interrupted, uninterrupted
):
    status, _, err = train_cli(run_cli, interrupted, *KEEP)
    assert status == 0 and "rewound" not in err, err
    assert same_curves(interrupted, uninterrupted)


def test_a_run_whose_final_status_write_was_lost_is_marked_done_on_the_next_open(run_cli, tmp_path):
    store = tmp_path / "s"
    status, _, err = train_cli(run_cli, store)
    assert status == 0, err
    conn = sqlite3.connect(store / "runs.sqlite")
    conn.execute("UPDATE runs SET status = 'running', step = 20")  # the kill's leftover
    conn.commit()
    conn.close()
    holder = hold(store, run_id(A))  # while another process writes it, it is left alone
    try:
        with RunStore(store) as s:
            assert s.get_run(run_id(A)).status == "running"
    finally:
        holder.kill()
        holder.wait()
    status, out, err = run_cli(["runs", "--store", str(store)])
    assert status == 0, err
    with RunStore(store) as s:
        record = s.get_run(run_id(A))
    assert (record.status, record.step) == ("done", 20)
    assert "done" in out
