"""A second process reads the store while the owner of a run writes it (WAL: readers never
block, and never see a half-written step)."""

import sqlite3
import subprocess
import sys
import time

import numpy as np

from groklab.store import METRICS, RunStore

RUN = "r-0123456789"
LAST_STEP = 40
SENTINEL_STEP = 999_999  # written but never committed

READER = """
import sys, time
import numpy as np
from groklab.store import METRICS, RunStore

root, run_id, last = sys.argv[1], sys.argv[2], int(sys.argv[3])
n_reads, deadline = 0, time.monotonic() + 20
with RunStore(root) as store:
    while time.monotonic() < deadline:
        curves = store.read_curves(run_id)
        steps = curves["step"]
        assert steps.tolist() == list(range(steps.size)), steps  # whole steps, in order
        for k, name in enumerate(METRICS):
            expected = k * 1000.0 + np.arange(3)[:, None] * 100.0 + steps[None, :]
            np.testing.assert_array_equal(curves[name], expected)  # every member, every metric
        n_reads += 1
        if n_reads == 1:
            print("first read", flush=True)
        if steps[-1] == last:
            break
print(n_reads, int(steps[-1]))
"""


def metrics_at(step: int) -> dict[str, np.ndarray]:
    return {name: k * 1000.0 + np.arange(3) * 100.0 + step for k, name in enumerate(METRICS)}


def test_reader_process_sees_only_whole_steps_while_writer_holds_a_transaction(tmp_path):
    store = RunStore(tmp_path)
    store.create_run(RUN, "{}", n_members=3, summary="", members=[{}] * 3)
    store.write_metrics(RUN, 0, metrics_at(0))

    # An open write transaction with half a step in it (member 0 only), as if mid-write.
    holder = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute(
        "INSERT INTO measures (run_id, name, step, member, value) VALUES (?, 'train_acc', ?, 0, 1)",
        (RUN, SENTINEL_STEP),
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(tmp_path), RUN, str(LAST_STEP)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The reader opens the store and reads while the write lock is held.
        assert reader.stdout.readline() == "first read\n", reader.stderr.read()
        holder.execute("ROLLBACK")
        holder.close()
        for step in range(1, LAST_STEP + 1):  # the owner keeps writing while the reader reads
            store.write_metrics(RUN, step, metrics_at(step))
            time.sleep(0.002)
        out, err = reader.communicate(timeout=30)
    finally:
        reader.kill()
        store.close()
    assert reader.returncode == 0, err
    n_reads, last_seen = map(int, out.split())
    assert last_seen == LAST_STEP and n_reads >= 2
