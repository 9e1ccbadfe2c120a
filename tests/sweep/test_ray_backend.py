"""Tests for src/groklab/sweep/ray_backend.py: a local Ray instance under a deep $TMPDIR."""

import os
import subprocess
import sys

import pytest

from groklab.errors import GroklabError
from groklab.sweep.ray_backend import RAY_SOCKET_TAIL, SOCKET_PATH_MAX, ray_temp_dir

SWEEP_FILE = """
[data]
op = "add"
p = 7

[model]
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32

[train]
steps = 10
eval_every = 5

[grid]
seed = [0, 1]
"""


def deep_folder(tmp_path):
    path = tmp_path / ("d" * 60) / ("e" * 50)
    path.mkdir(parents=True)
    assert len(os.fsencode(path)) > SOCKET_PATH_MAX
    return path


def test_ray_keeps_its_own_temp_folder_where_its_socket_paths_fit():
    assert ray_temp_dir({}) is None  # /tmp/ray
    assert ray_temp_dir({"TMPDIR": "/var/tmp"}) is None
    fits = "/" + "t" * (SOCKET_PATH_MAX - len(RAY_SOCKET_TAIL) - len("//ray"))
    assert ray_temp_dir({"TMPDIR": fits}) is None
    assert ray_temp_dir({"TMPDIR": fits + "x"}, short_base="/tmp") is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Ray reads $TMPDIR on Linux")
def test_a_deep_tmpdir_gets_a_short_folder_of_this_users(tmp_path):
    short = tmp_path / "short"
    short.mkdir()
    chosen = ray_temp_dir({"TMPDIR": str(deep_folder(tmp_path))}, short_base=str(short))
    assert chosen == str(short / f"groklab-ray-{os.getuid()}")
    assert os.path.isdir(chosen) and os.stat(chosen).st_uid == os.getuid()
    assert ray_temp_dir({"TMPDIR": str(deep_folder(tmp_path / "again"))}) is not None


def test_a_too_long_ray_tmpdir_of_the_users_is_one_line_naming_it(tmp_path):
    deep = str(deep_folder(tmp_path))
    with pytest.raises(GroklabError) as err:
        ray_temp_dir({"RAY_TMPDIR": deep, "TMPDIR": "/tmp"})
    message = str(err.value)
    assert f"RAY_TMPDIR={deep}" in message and "at most" in message and "\n" not in message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Ray reads $TMPDIR on Linux")
def test_a_short_folder_that_cannot_be_made_is_one_line_naming_the_way_out(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(GroklabError) as err:
        ray_temp_dir({"TMPDIR": str(deep_folder(tmp_path))}, short_base=str(blocked))
    assert "RAY_TMPDIR" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Ray reads $TMPDIR on Linux")
def test_ray_sweep_under_a_tmpdir_too_deep_for_its_sockets_trains_and_says_where(tmp_path):
    # a fresh process: Ray starts once per process, and this one's may already run (ray_local)
    pytest.importorskip("ray")
    (tmp_path / "sweep.toml").write_text(SWEEP_FILE)
    env = {**os.environ, "TMPDIR": str(deep_folder(tmp_path))}
    env.pop("RAY_TMPDIR", None)
    env.pop("RAY_ADDRESS", None)
    argv = [sys.executable, "-m", "groklab", "sweep", str(tmp_path / "sweep.toml")]
    argv += ["--store", str(tmp_path / "store"), "--backend", "ray", "--threads", "1"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    where = f"Ray's session files are under /tmp/groklab-ray-{os.getuid()}"
    assert where in done.stderr
    from groklab.store import RunStore

    (run,) = RunStore(tmp_path / "store").list_runs()
    assert run.status == "done" and run.step == 10
