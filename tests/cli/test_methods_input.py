"""Bad input to the methods of `groklab train` (losses, optimizers, gradient transforms, lr
schedules, MLP inputs): exit status 2, one line on stderr naming the bad value and what is
allowed, no traceback, no run stored. And the new choices train end to end from the CLI."""

from pathlib import Path

import pytest

from groklab.store import RunStore

TINY = ["--op", "add", "--p", "7", "--steps", "3", "--eval-every", "5"]
MLP = [*TINY, "--model", "prieto2025", "--d-mlp", "16"]


def stored_runs(store: Path) -> list[str]:
    return [r.run_id for r in RunStore(store).list_runs()] if store.exists() else []


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--loss", "focal"], ["loss='focal'", "ce, mse, bce, stablemax"]),
        (["--optimizer", "lion"], ["optimizer='lion'", "muon"]),
        (["--transforms", "grokfast"], ["transforms='grokfast'", "grokfast_ema, grokfast_ma"]),
        (["--grokfast-ma-window", "0"], ["grokfast_ma_window=0", "[1, 100000]"]),
        (["--grokfast-ema-alpha", "1"], ["grokfast_ema_alpha=1.0", "[0.0, 1.0)"]),
        (["--grokfast-ema-alpha", "-0.5"], ["grokfast_ema_alpha=-0.5", "[0.0, 1.0)"]),
        (["--schedule", "linear"], ["schedule='linear'", "constant, cosine, step"]),
        (["--step-every", "0"], ["step_every=0", ">= 1"]),
        (["--step-factor", "2"], ["step_factor=2.0", "(0.0, 1.0]"]),
        (["--inputs", "bits"], ["inputs='bits'", "embed, onehot"]),
        (["--muon-lr", "0"], ["muon_lr=0.0"]),
        (["--muon-momentum", "1"], ["muon_momentum=1.0"]),
        (["--optimizer", "muon", "--n-layers", "1"], ["optimizer='muon'", "2-D hidden weight"]),
    ],
)
def test_bad_method_input_is_one_line_status_2_and_stores_no_run(
    run_cli, tmp_path, extra, fragments
):
    store = tmp_path / "store"
    status, _, err = run_cli(["train", *MLP, "--store", str(store), *extra])
    assert status == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert stored_runs(store) == []


@pytest.mark.parametrize(
    "extra",
    [
        ["--loss", "stablemax"],
        ["--optimizer", "muon"],
        ["--schedule", "step", "--step-every", "2", "--warmup-steps", "0"],
        ["--transforms", "orthograd", "--loss", "stablemax", "--optimizer", "muon"],
    ],
)
def test_new_methods_train_from_the_cli(run_cli, tmp_path, extra):
    store = tmp_path / "store"
    status, out, err = run_cli(["train", *MLP, "--store", str(store), "--seeds", "0-1", *extra])
    assert status == 0, err
    assert len(stored_runs(store)) == 1
