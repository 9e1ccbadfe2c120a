"""Input that was accepted without a word is refused in one line naming the value, exit 2, with
nothing made; an --out symlink is written through, not replaced (issue 14 item 6)."""

import os

import pytest

import groklab.sweep

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]
RUN = (  # a tiny run file: a test that fails trains seconds, not hours
    "[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\nd_mlp = 32\n"
    "[train]\nsteps = 10\neval_every = 5\n"
)
SWEEP = '[data]\nop = "add"\np = 7\n' + RUN + "[grid]\nseed = [0, 1]\n"


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("groklab: error: ") and "Traceback" not in err


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    return path


@pytest.fixture
def no_training(monkeypatch):
    """A sweep that would train fails the test instead (and at once)."""

    def trains(*args, **kwargs):
        raise AssertionError("the sweep trained")

    monkeypatch.setattr(groklab.sweep, "run_sweep", trains)


@pytest.mark.parametrize(
    "fraction, says",
    [("0.001", "trains on 0 of 121 examples"), ("0.999", "trains on 121 of 121 examples")],
)
def test_a_split_without_a_training_or_validation_example_is_refused_with_its_count(
    run_cli, tmp_path, fraction, says
):
    argv = ["train", *TINY, "--p", "11", "--train-fraction", fraction]
    status, _, err = run_cli([*argv, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")])
    assert status == 2 and one_line(err) and f"train_fraction={fraction} {says}" in err, err
    assert "allowed in [1/121, 120/121]" in err and list(tmp_path.iterdir()) == []


def test_a_sweep_point_without_a_training_example_is_refused_before_anything(
    run_cli, tmp_path, no_training
):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP.replace("seed = [0, 1]", "train_fraction = [0.5, 0.001]"))
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "train_fraction=0.001 trains on 0 of 49" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("where", ["flag", "config"])
def test_source_on_a_table_is_refused_not_ignored(run_cli, tmp_path, where):
    if where == "flag":
        argv = ["train", *TINY, "--source", "reviews.csv"]
    else:
        config = tmp_path / "run.toml"
        config.write_text(RUN + '[data]\nop = "add"\np = 7\nsource = "reviews.csv"\n')
        argv = ["train", "--config", str(config)]
    status, _, err = run_cli([*argv, "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err), err
    assert "source='reviews.csv' is not read by dataset 'table' (it reads op, p, layout)" in err
    assert not (tmp_path / "s").exists()


def test_sweep_workers_0_is_refused_not_run_in_process(run_cli, tmp_path, sweep_file, no_training):
    argv = ["sweep", str(sweep_file), "--workers", "0", "--store", str(tmp_path / "s")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and "--workers 0 is not allowed" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("command", ["train", "sweep", "reproduce", "runs", "curves"])
def test_an_empty_store_is_refused_not_taken_for_the_default(
    run_cli, tmp_path, sweep_file, monkeypatch, no_training, command
):
    monkeypatch.chdir(tmp_path)  # where ./groklab-runs would appear
    argv = {
        "train": ["train", *TINY],
        "sweep": ["sweep", str(sweep_file)],
        "reproduce": ["reproduce", "power2022-fraction", "--micro", "--out", "o"],
        "runs": ["runs"],
        "curves": ["curves", "r-0123456789", "--out", "c.csv"],
    }[command]
    status, _, err = run_cli([*argv, "--store", ""])
    assert status == 2 and one_line(err) and "--store '' is empty" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("command", ["train", "sweep", "report"])
def test_an_empty_out_is_refused_not_taken_for_a_default(
    run_cli, tmp_path, sweep_file, monkeypatch, no_training, command
):
    monkeypatch.chdir(tmp_path)
    store = ["--store", str(tmp_path / "s")]
    argv = {
        "train": ["train", *TINY, *store],
        "sweep": ["sweep", str(sweep_file), *store],
        "report": ["report", "--all", *store],
    }[command]
    status, _, err = run_cli([*argv, "--out", ""])
    assert status == 2 and one_line(err) and "--out '' is empty" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_reproduce_of_an_empty_name_is_refused_not_a_listing(run_cli, tmp_path):
    status, out, err = run_cli(["reproduce", "", "--out", str(tmp_path / "o")])
    assert status == 2 and one_line(err) and "experiment '' is unknown" in err, err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_two_equal_member_tables_are_refused_but_a_shared_seed_is_not(run_cli, tmp_path):
    config = tmp_path / "run.toml"
    head = RUN + '[data]\nop = "add"\np = 7\n'
    config.write_text(head + "[[members]]\nseed = 1\nlr = 0.1\n" * 2)
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err), err
    assert "[[members]] 0 and 1 are the same member ({'seed': 1, 'lr': 0.1})" in err
    assert not (tmp_path / "s").exists()
    from groklab.config import load_spec

    config.write_text(head + "[[members]]\nseed = 1\nlr = 0.1\n[[members]]\nseed = 1\nlr = 0.2\n")
    assert [m.lr for m in load_spec(config).members] == [0.1, 0.2]  # one seed, two rates


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


@pytest.mark.parametrize("command, name", [("curves", "real.csv"), ("plot", "real.png")])
def test_an_out_symlink_to_a_file_is_written_through(run_cli, tmp_path, trained, command, name):
    store, run_id = trained
    (tmp_path / "d").mkdir()
    link = tmp_path / f"link{os.path.splitext(name)[1]}"
    link.symlink_to(tmp_path / "d" / name)
    status, _, err = run_cli([command, run_id, "--out", str(link), "--store", str(store)])
    assert status == 0, err
    assert link.is_symlink() and (tmp_path / "d" / name).stat().st_size > 0
    assert os.listdir(tmp_path / "d") == [name]  # no temp file left beside it


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
@pytest.mark.parametrize("command, suffix", [("curves", ".csv"), ("plot", ".png")])
def test_an_out_symlink_to_a_device_is_written_into_not_replaced(
    run_cli, tmp_path, trained, command, suffix
):
    store, run_id = trained
    link = tmp_path / f"out{suffix}"
    link.symlink_to("/dev/null")  # as /dev/stdout, which is itself a link
    status, _, err = run_cli([command, run_id, "--out", str(link), "--store", str(store)])
    assert status == 0, err
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert os.listdir(tmp_path) == [link.name]
