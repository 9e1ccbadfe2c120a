"""`groklab.bench` on the Ray backend: the same populations and numbers as the local backend,
each timed by the driver's sink."""

import json
import math

from groklab.bench import run_bench
from groklab.bench.run import TIMES_FILE

KEYS = ("task", "method", "seed", "run_id", "member", "steps_to_val_99", "steps_to_train_99",
        "final_val_acc", "steps_done")  # fmt: skip


def same(a, b):
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def test_a_micro_bench_on_ray_equals_the_local_one_and_is_timed(tmp_path, ray_local):
    args = (["prieto-add"], ["adamw", "egd"])
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = run_bench(*args, size="micro", seeds=2, store_root=tmp_path / "s1",
                      out_dir=tmp_path / "local")  # fmt: skip
    remote = run_bench(*args, size="micro", seeds=2, store_root=tmp_path / "s2",
                       out_dir=tmp_path / "ray", backend="ray")  # fmt: skip
    for a, b in zip(local.rows, remote.rows, strict=True):
        assert all(same(a[k], b[k]) for k in KEYS), (a, b)
    times = json.loads((tmp_path / "ray" / TIMES_FILE).read_text())
    assert set(times) == {r["run_id"] for r in remote.rows}
    assert all(t["seconds"] > 0 and t["steps"] == 40 for t in times.values())
