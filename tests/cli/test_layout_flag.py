"""`--layout` on train, and `--model nanda2023` bringing Nanda's layout."""

import json

from groklab.config import spec_from_dict
from groklab.store import RunStore


def test_train_nanda2023_trains_on_x_y_eq_and_layout_flag_overrides_it(run_cli, tmp_path):
    store = tmp_path / "runs"
    base = ["train", "--store", str(store), "--op", "add", "--p", "5", "--steps", "2",
            "--eval-every", "1", "--d-model", "8", "--n-heads", "2", "--d-mlp", "8"]  # fmt: skip
    status, out, err = run_cli([*base, "--model", "nanda2023"])
    assert status == 0, err
    status, out2, err = run_cli([*base, "--model", "nanda2023", "--layout", "x_op_y_eq"])
    assert status == 0, err
    runs = RunStore(store).list_runs()
    layouts = sorted(spec_from_dict(json.loads(r.spec_json)).data.layout for r in runs)
    assert layouts == ["x_op_y_eq", "x_y_eq"]


def test_bad_layout_flag_is_one_line_and_exit_2(run_cli, tmp_path):
    status, out, err = run_cli(["train", "--store", str(tmp_path / "r"), "--layout", "xy"])
    assert status == 2
    assert err.strip().count("\n") == 0 and "layout" in err and "x_y_eq" in err
    assert not (tmp_path / "r").exists()
