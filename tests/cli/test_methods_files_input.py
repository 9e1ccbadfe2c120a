"""Bad method settings in run files and sweep grids (issue 12's bad input: unknown transform or
loss names, a Grokfast-MA window of 0, an EMA alpha outside [0, 1)): exit status 2, one line on
stderr naming the value and what is allowed, and nothing written — no store, no run, no CSV.
(The same values as `groklab train` flags are tested in test_methods_input.py.)"""

import pytest

TASK = '[data]\nop = "add"\np = 7\n[train]\nsteps = 3\neval_every = 5\n'


@pytest.mark.parametrize(
    ("section", "fragments"),
    [
        ('[optim]\ntransforms = ["grokfast_ema", "nope"]\n',
         ["transforms='nope'", "grokfast_ema, grokfast_ma, orthograd"]),
        ('[optim]\ntransforms = ["grokfast_ma"]\ngrokfast_ma_window = 0\n',
         ["grokfast_ma_window=0", "[1, 100000]"]),
        ('[members]\nseed = "0-1"\ngrokfast_ema_alpha = [0.5, 1.0]\n',
         ["grokfast_ema_alpha=1.0", "[0.0, 1.0)"]),
        ('[members]\ngrokfast_ema_alpha = -0.1\n', ["grokfast_ema_alpha=-0.1", "[0.0, 1.0)"]),
    ],
)  # fmt: skip
def test_bad_method_in_a_run_file_is_one_line_status_2_and_writes_nothing(
    run_cli, tmp_path, section, fragments
):
    config = tmp_path / "run.toml"
    config.write_text(TASK + section)
    store, out = tmp_path / "store", tmp_path / "out"
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(store),
                              "--out", str(out)])  # fmt: skip
    assert status == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not store.exists() and not out.exists()


def test_loss_name_in_a_run_file_must_be_known(run_cli, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TASK.replace("steps = 3\n", 'steps = 3\nloss = "softmax2"\n'))
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(tmp_path / "s")])
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "loss='softmax2'" in err and "ce, mse, bce, stablemax" in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("grid", "fragments"),
    [
        ("grokfast_ema_alpha = [0.5, 1.5]", ["grokfast_ema_alpha=1.5", "[0.0, 1.0)"]),
        ('"optim.grokfast_ma_window" = [100, 0]', ["grokfast_ma_window=0", "[1, 100000]"]),
        ('"train.loss" = ["ce", "hinge"]', ["loss='hinge'", "stablemax"]),
    ],
)
def test_bad_method_in_a_sweep_grid_fails_before_anything_trains(
    run_cli, tmp_path, grid, fragments
):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(TASK + f"[grid]\n{grid}\n")
    store, csv = tmp_path / "store", tmp_path / "sweep.csv"
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(store), "--out", str(csv)])
    assert status == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not store.exists() and not csv.exists()
