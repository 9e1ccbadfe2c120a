"""Tests for src/groklab/cli/export.py: `groklab export RUN --member I [--step S] --out FILE.pt`."""

import torch

import groklab
from groklab.store import RunStore

TINY = "--op add --p 7 --model mlp --d-model 8 --d-mlp 16 --n-layers 1 --steps 20 --eval-every 10"


def test_export_writes_a_state_dict_and_spec_that_rebuild_the_member(run_cli, tmp_path):
    store = str(tmp_path / "store")
    code, _, _ = run_cli(["train", *TINY.split(), "--seeds", "0-1", "--store", store])
    assert code == 0
    with RunStore(store) as opened:
        (run_id,) = [record.run_id for record in opened.list_runs()]
    code, out, err = run_cli(
        ["export", run_id, "--member", "1", "--out", str(tmp_path / "m.pt"), "--store", store]
    )
    assert code == 0 and "wrote" in out, err
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    assert set(blob) >= {"state_dict", "spec_json", "member", "step"} and blob["member"] == 1
    model, task = groklab.load(run_id, member=1, store=store)
    for name, value in model.state_dict().items():
        assert torch.equal(blob["state_dict"][name], value), name


def test_export_of_a_missing_member_is_one_line_and_exit_2(run_cli, tmp_path):
    store = str(tmp_path / "store")
    run_cli(["train", *TINY.split(), "--store", store])
    code, out, err = run_cli(
        ["export", "r-", "--member", "3", "--out", str(tmp_path / "m.pt"), "--store", store]
    )
    assert code == 2 and err.count("\n") == 1 and "member=3" in err and "allowed: 0..0" in err
    assert not (tmp_path / "m.pt").exists()
