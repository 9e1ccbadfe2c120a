"""`--group-lr` / `--group-weight-decay` on the command line: a group the model lacks is one
line naming the groups it has, exit 2, and nothing is created (issue 22 part 2)."""

TOY = ["--dataset", "toy_add_symbols", "--p", "7", "--arch", "toy", "--d-model", "1",
       "--n-heads", "1", "--d-mlp", "16", "--act", "tanh", "--loss", "mse", "--n-train", "20",
       "--steps", "10", "--eval-every", "5"]  # fmt: skip


def test_an_unknown_group_is_refused_before_anything_is_created(run_cli, tmp_path):
    argv = ["train", *TOY, "--group-weight-decay", "nope=0", "--store", str(tmp_path / "s")]
    status, _, err = run_cli([*argv, "--out", str(tmp_path / "o")])
    assert status == 2 and err.count("\n") == 1, err
    assert "no parameter group 'nope'; it has: representation, decoder" in err
    assert not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


def test_a_group_lr_trains_and_changes_the_run_id(run_cli, tmp_path):
    store = str(tmp_path / "s")
    status, plain, err = run_cli(["train", *TOY, "--store", store])
    assert status == 0, err
    argv = ["train", *TOY, "--group-lr", "representation=1e-2", "--store", store]
    status, grouped, err = run_cli(argv)
    assert status == 0, err
    assert plain.split()[1] != grouped.split()[1]  # "run r-...:" differs
