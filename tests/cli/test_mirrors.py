"""`--tensorboard DIR`, `--wandb PROJECT`: mirrors on train and sweep, and their one-line errors."""

import re
import sys
from pathlib import Path

import pytest

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5"]
RUN_LINE = re.compile(r"^run (r-[0-9a-f]{10}): ", re.MULTILINE)
SWEEP_TOML = """
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


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.delenv("GROKLAB_STORE", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")


def train_argv(tmp_path, *extra):
    return ["train", *TINY, "--steps", "10", "--store", str(tmp_path / "store"), *extra]


def test_train_with_tensorboard_and_wandb_writes_both_and_prints_as_before(run_cli, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    mirrors = ["--tensorboard", str(tmp_path / "tb"), "--wandb", "test"]
    status, out, err = run_cli(train_argv(tmp_path, *mirrors, "--wandb-dir", str(tmp_path)))
    assert status == 0, err
    run_id = RUN_LINE.search(out).group(1)
    assert list((tmp_path / "tb" / run_id).glob("events.out.tfevents.*"))
    assert list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    assert f"{run_id}/0 seed=0" in out
    assert "wandb:" not in out + err  # W&B is kept silent: only the CLI prints


def assert_one_line_and_no_store(run_cli, tmp_path, argv, fragment):
    before = files_under(tmp_path)
    status, _, err = run_cli(argv)
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert files_under(tmp_path) == before  # nothing trained, no store


def test_a_tensorboard_directory_that_cannot_be_made_is_one_line_and_trains_nothing(
    run_cli, tmp_path
):
    pytest.importorskip("tensorboard")
    (tmp_path / "file").write_text("")
    argv = train_argv(tmp_path, "--tensorboard", str(tmp_path / "file" / "tb"))
    assert_one_line_and_no_store(run_cli, tmp_path, argv, "file/tb")


@pytest.mark.parametrize(
    ("module", "flag", "extra"),
    [("torch.utils.tensorboard", "--tensorboard", "tensorboard"), ("wandb", "--wandb", "wandb")],
)
def test_a_mirror_without_its_extra_is_one_line_naming_it(
    run_cli, tmp_path, monkeypatch, module, flag, extra
):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    argv = train_argv(tmp_path, flag, str(tmp_path / "x"))
    assert_one_line_and_no_store(run_cli, tmp_path, argv, f"groklab[{extra}]")


def test_sweep_with_tensorboard_writes_one_event_directory_per_population(run_cli, tmp_path):
    pytest.importorskip("tensorboard")
    sweep = tmp_path / "micro.toml"
    sweep.write_text(SWEEP_TOML)
    argv = ["sweep", str(sweep), "--store", str(tmp_path / "store")]
    status, out, err = run_cli([*argv, "--tensorboard", str(tmp_path / "tb")])
    assert status == 0, err
    populations = [Path(p) for p in (tmp_path / "tb").iterdir()]
    assert len(populations) == 1 and populations[0].name in out
    assert list(populations[0].glob("events.out.tfevents.*"))
