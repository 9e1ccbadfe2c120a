"""A command that fails leaves nothing half-made: every check runs before an --out directory or
the store is made; the temp files of outputs that a killed writer left are removed by the next
run; torch's empty compile cache folder does not stay in the temp folder (issue 14 item 7)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from groklab.experiments import ExperimentResult, base
from groklab.experiments.base import Experiment

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]
DEAD = 4194305  # above any pid_max (2**22): no such process, ever
as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("groklab: error: ") and "Traceback" not in err


def stale(folder: Path, name: str, pid: int = DEAD) -> Path:
    """The temp file a writer of `name` killed between its write and its rename left."""
    path = folder / f".{name}.{pid}.0a1b2c3d.tmp"
    path.write_bytes(b"half a file")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A store holding one finished tiny run: (store, run id)."""
    from groklab.run import train
    from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec
    from groklab.store import RunStore

    spec = RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(steps=10, eval_every=5),
    )
    store = tmp_path_factory.mktemp("store")
    with RunStore(store) as opened:
        train(spec, opened)
    return store, spec.run_id


@pytest.mark.parametrize(
    "argv, says",
    [
        (["curves", "RUN", "--measures", "bogus", "--out", "o/c.csv"], "no measure 'bogus'"),
        (["plot", "RUN", "--measures", "bogus", "--out", "o/p.png"], "no measure 'bogus'"),
        (["plot", "RUN", "--out", "o/p.jpg"], "suffix '.jpg'"),
        (["export", "r-0123456789", "--out", "o/m.pt"], "no run matches 'r-0123456789'"),
        (["export", "RUN", "--member", "5", "--out", "o/m.pt"], "member=5 is not a member"),
        (["export", "RUN", "--step", "3", "--out", "o/m.pt"], "step=3 is not a kept step"),
        (["data", "table", "add", "--p", "7", "--out", "o/t.jpg"], "suffix '.jpg'"),
    ],
    ids=["curves-measure", "plot-measure", "plot-suffix", "run", "member", "step", "table-suffix"],
)
def test_a_late_check_that_fails_makes_no_out_directory(
    run_cli, tmp_path, monkeypatch, trained, argv, says
):
    store, run_id = trained
    monkeypatch.chdir(tmp_path)
    argv = [run_id if a == "RUN" else a for a in argv]
    status, _, err = run_cli([*argv, *([] if argv[0] == "data" else ["--store", str(store)])])
    assert status == 2 and one_line(err) and says in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, source, says",
    [
        ("omnigrok-imdb", "missing.csv", "--source 'missing.csv' does not exist"),
        ("omnigrok-mnist", "a-file", "source='a-file' is not a directory"),
    ],
    ids=["missing", "a-file-for-a-directory"],
)
def test_reproduce_with_a_bad_source_makes_no_out_directory_and_no_store(
    run_cli, tmp_path, monkeypatch, name, source, says
):
    monkeypatch.chdir(tmp_path)
    Path("a-file").write_text("not MNIST\n")
    argv = ["reproduce", name, "--quick", "--source", source, "--out", "o/results"]
    status, _, err = run_cli([*argv, "--store", "s"])
    assert status == 2 and one_line(err) and says in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.fixture
def read_only(monkeypatch):
    """read_only(path): this process may not write in the directory `path` (os.access says
    so, as it does for a directory of mode 0o500 to anyone but root)."""
    denied: set[Path] = set()
    access = os.access

    def checked(path, mode, *args, **kwargs):
        if Path(path) in denied and mode & os.W_OK:
            return False
        return access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", checked)
    return denied.add


@pytest.mark.parametrize("exists", [False, True], ids=["in-a-read-only-dir", "read-only"])
def test_an_unwritable_out_is_found_before_the_store_is_made_or_anything_trains(
    run_cli, tmp_path, read_only, exists
):
    (tmp_path / "ro").mkdir()
    out = tmp_path / "ro" / "o"
    if exists:
        out.mkdir()
    read_only(out if exists else tmp_path / "ro")
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(out)]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and "permission denied" in err, err
    assert str(out if exists else tmp_path / "ro") in err
    assert not (tmp_path / "s").exists() and out.exists() == exists


@as_root
def test_an_existing_out_of_mode_0o500_is_found_before_the_store_is_made(run_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    out.chmod(0o500)
    try:
        argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(out)]
        status, _, err = run_cli(argv)
    finally:
        out.chmod(0o700)
    assert status == 2 and one_line(err) and str(out) in err, err
    assert not (tmp_path / "s").exists()


def test_train_removes_the_output_temp_files_that_killed_writers_left(run_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    status, stdout, err = run_cli(["train", *TINY, "--store", str(tmp_path / "s")])
    run_id = stdout.split()[1].rstrip(":")
    left = [
        stale(out, f"{run_id}.csv"),
        stale(out, f"{run_id}.png"),
        stale(out, "r-0123456789.csv"),  # another run's output, killed the same way
    ]
    kept = [stale(out, f"{run_id}.csv", pid=os.getpid()), out / ".notes.tmp"]  # a live writer's
    kept[1].write_text("the user's, not named as groklab names its temp files\n")
    argv = ["train", *TINY, "--store", str(tmp_path / "s"), "--out", str(out)]
    status, _, err = run_cli(argv)
    assert status == 0, err
    assert not any(path.exists() for path in left) and all(path.exists() for path in kept)
    assert (out / f"{run_id}.csv").is_file() and (out / f"{run_id}.png").is_file()


@pytest.mark.parametrize("command, name", [("curves", "c.csv"), ("plot", "p.png")])
def test_writing_a_file_removes_its_own_stale_temp_files(run_cli, tmp_path, trained, command, name):
    store, run_id = trained
    left = stale(tmp_path, name)
    argv = [command, run_id, "--out", str(tmp_path / name), "--store", str(store)]
    status, _, err = run_cli(argv)
    assert status == 0, err
    assert not left.exists() and os.listdir(tmp_path) == [name]


def test_reproduce_removes_the_output_temp_files_that_killed_writers_left(
    run_cli, tmp_path, monkeypatch
):
    def run(ctx):
        return ExperimentResult(paths=[], table="| a |\n|---|\n")

    base.load_all()
    monkeypatch.setitem(base.EXPERIMENTS, "writer", Experiment("writer", "-", "-", run))
    (tmp_path / "o" / "writer").mkdir(parents=True)
    left = stale(tmp_path / "o" / "writer", "figure.png")
    argv = ["reproduce", "writer", "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")]
    status, _, err = run_cli(argv)
    assert status == 0, err
    assert not left.exists()


@pytest.mark.parametrize(
    "argv",
    [["train", *TINY], ["sweep", "s.toml", "--workers", "2", "--out", "s.csv"]],
    ids=["train", "sweep-workers"],
)
def test_no_compile_cache_folder_is_left_in_the_temp_folder(tmp_path, argv):
    (tmp_path / "s.toml").write_text(
        '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
        'd_mlp = 32\n[train]\nsteps = 10\neval_every = 5\n[grid]\n"model.d_mlp" = [16, 32]\n'
    )
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    env.update(TMPDIR=str(temp), GROKLAB_STORE=str(tmp_path / "store"))
    done = subprocess.run(
        [sys.executable, "-m", "groklab", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert os.listdir(temp) == []


def test_the_compile_cache_folder_stays_when_it_holds_a_file(tmp_path):
    from groklab.perf import remove_empty_tree

    (tmp_path / "empty" / "dynamo").mkdir(parents=True)
    (tmp_path / "used" / "fx").mkdir(parents=True)
    (tmp_path / "used" / "fx" / "graph").write_text("cached\n")
    remove_empty_tree(tmp_path / "empty")
    remove_empty_tree(tmp_path / "used")
    assert sorted(os.listdir(tmp_path)) == ["used"]
    assert (tmp_path / "used" / "fx" / "graph").is_file()
