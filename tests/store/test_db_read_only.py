"""A store this process cannot write opens read-only (src/groklab/store/db.py).

`on_read_only_media` (tests/conftest.py) makes the store's folder a read-only mount in a
subprocess: writes fail there for root too. Where a test must do without it, it says what it
simulates.
"""

import json
import os
import shutil
import sys

import pytest

from groklab.errors import GroklabError
from groklab.store import RunStore
from groklab.store import db as db_module

RUN = "r-0123456789"

READ = """
import json, sys
from groklab.errors import GroklabError
from groklab.store import RunStore
store = RunStore(sys.argv[1])
out = {"read_only": store.read_only, "runs": [r.run_id for r in store.list_runs()],
       "train_acc": store.read_curves(sys.argv[2])["train_acc"].tolist()}
out["refused"] = []
for write in (lambda: store.write_metrics(sys.argv[2], 99, {"train_acc": [0.5]}),
              lambda: store.run_lock(sys.argv[2]).__enter__(),
              lambda: store.set_status(sys.argv[2], "done", 99)):
    try:
        write()
        out["refused"].append(None)
    except GroklabError as e:
        out["refused"].append(str(e))
print(json.dumps(out))
"""


def make_store(root, steps=(0, 10)) -> RunStore:
    store = RunStore(root)
    store.create_run(RUN, "{}", n_members=1, summary="add", members=[{}])
    for step in steps:
        store.write_metrics(RUN, step, {"train_acc": [step / 100]})
    return store


def read_on_read_only_media(on_read_only_media, root) -> dict:
    done = on_read_only_media(root, [sys.executable, "-c", READ, str(root), RUN])
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def assert_every_write_refused_in_one_line(refused: list, root) -> None:
    for message in refused:
        assert message is not None, "a write went through"
        assert f"store {root} is read-only" in message and "\n" not in message


def test_a_closed_store_on_read_only_media_reads_and_refuses_writes_in_one_line(
    tmp_path, on_read_only_media
):
    root = tmp_path / "store"
    make_store(root).close()  # closing folds the WAL in: only runs.sqlite is left
    assert not (root / "runs.sqlite-shm").exists()
    out = read_on_read_only_media(on_read_only_media, root)
    assert out["read_only"] and out["runs"] == [RUN]
    assert out["train_acc"] == [[0.0, 0.1]]
    assert_every_write_refused_in_one_line(out["refused"], root)


def test_a_read_only_view_of_a_store_whose_writer_is_live_sees_its_latest_rows(
    tmp_path, on_read_only_media
):
    root = tmp_path / "store"
    with make_store(root) as writer:
        writer._conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep new rows in the WAL only
        writer.write_metrics(RUN, 20, {"train_acc": [0.2]})
        assert (root / "runs.sqlite-wal").stat().st_size > 0
        out = read_on_read_only_media(on_read_only_media, root)
    assert out["read_only"] and out["train_acc"] == [[0.0, 0.1, 0.2]]
    assert_every_write_refused_in_one_line(out["refused"], root)


def test_a_write_ahead_log_without_its_shared_memory_file_is_one_line_not_stale_rows(
    tmp_path, on_read_only_media
):
    root, copy = tmp_path / "store", tmp_path / "copy"
    copy.mkdir()
    with make_store(root) as writer:
        writer._conn.execute("PRAGMA wal_autocheckpoint = 0")
        writer.write_metrics(RUN, 20, {"train_acc": [0.2]})
        for name in ("runs.sqlite", "runs.sqlite-wal"):  # copied without runs.sqlite-shm
            shutil.copy(root / name, copy / name)
    (copy / "checkpoints").mkdir()
    done = on_read_only_media(copy, [sys.executable, "-c", READ, str(copy), RUN])
    assert done.returncode != 0
    (last,) = done.stderr.strip().splitlines()[-1:]
    assert "runs.sqlite-wal" in last and "runs.sqlite-shm" in last and "writable" in last


def test_a_store_folder_this_user_cannot_write_opens_read_only(tmp_path, monkeypatch):
    # chmod makes the folder unwritable for an ordinary user; root ignores mode bits, so as root
    # this test tells groklab's check the folder is unwritable and tests groklab's choice only
    # (the read-only mount of the tests above is what holds for root as well)
    root = tmp_path / "store"
    make_store(root).close()
    if os.geteuid() == 0:
        monkeypatch.setattr(db_module, "is_writable", lambda path: False)
    for path in (root / "runs.sqlite", root / "checkpoints", root):
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        with RunStore(root) as store:
            assert store.read_only
            assert store.read_curves(RUN)["train_acc"].tolist() == [[0.0, 0.1]]
            with pytest.raises(GroklabError, match="is read-only") as err:
                store.write_metrics(RUN, 99, {"train_acc": [0.5]})
            assert "\n" not in str(err.value)
    finally:
        for path in (root, root / "runs.sqlite", root / "checkpoints"):
            path.chmod(path.stat().st_mode | 0o200)


def test_a_writable_store_opens_read_write_and_a_missing_one_is_created(tmp_path):
    with make_store(tmp_path / "store") as store:
        assert not store.read_only
    with RunStore(tmp_path / "new") as store:
        assert not store.read_only and (tmp_path / "new" / "runs.sqlite").is_file()
