"""`--keep-checkpoints` on train, sweep and reproduce, and the history `groklab runs` reports."""

import pytest

from groklab.store import RunStore

TINY = "--op add --p 7 --model mlp --d-model 8 --d-mlp 16 --n-layers 1 --steps 40 --eval-every 10"


def test_train_keeps_checkpoints_and_runs_counts_them_with_their_bytes(run_cli, tmp_path):
    store = str(tmp_path / "store")
    code, _, err = run_cli(
        ["train", *TINY.split(), "--keep-checkpoints", "every:20", "--store", store]
    )
    assert code == 0, err
    with RunStore(store) as opened:
        (record,) = opened.list_runs()
        kept = opened.kept_checkpoints(record.run_id)
        files = [opened.checkpoint_path(record.run_id), *kept.values()]
    assert sorted(kept) == [0, 20, 40]
    size = sum(f.stat().st_size for f in files) / 1000
    _, out, _ = run_cli(["runs", "--store", store])
    row = next(line for line in out.splitlines() if line.startswith(record.run_id))
    assert f"4 / {size:.1f} KB" in row


@pytest.mark.parametrize(
    "command", [["train", *TINY.split()], ["reproduce", "power2022-table", "--micro"]]
)
@pytest.mark.parametrize("rule", ["every:0", "log", "some"])
def test_a_bad_rule_is_one_line_exit_2_and_writes_nothing(run_cli, tmp_path, command, rule):
    store = tmp_path / "store"
    code, _, err = run_cli([*command, "--keep-checkpoints", rule, "--store", str(store)])
    assert code == 2 and err.count("\n") == 1 and f"keep_checkpoints={rule!r}" in err
    assert not store.exists()
