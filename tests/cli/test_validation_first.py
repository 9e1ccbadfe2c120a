"""Bad input is refused before anything is made: no store, no out directory, no file; and the
smaller checks of issue 13 (duplicate seeds, --source where it is not read, `runs --store
FILE`, `data export --out ''`, `data table --seed` range, grids counted before expanding)."""

import pytest

from groklab.errors import SpecError
from groklab.spec import RunSpec
from groklab.sweep import load_sweep
from groklab.sweep.grid import MAX_RUNS, SweepSpec, expand

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]
SWEEP = (
    '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
    "d_mlp = 32\n[train]\nsteps = 10\neval_every = 5\n"
)


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("groklab: error: ") and "Traceback" not in err


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--n-train", "1000"], "n_train=1000"),
        (["--n-outliers", "500"], "n_outliers=500"),
        (["--loss", "bce"], "bce"),
    ],
    ids=["n-train", "n-outliers", "bce-on-a-table"],
)
def test_train_refuses_what_only_the_data_can_tell_before_making_store_or_out(
    run_cli, tmp_path, flags, says
):
    argv = ["train", *TINY, *flags, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and says in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sweep_refuses_a_bad_task_before_making_store_or_csv(run_cli, tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + "[grid]\nn_train = [10, 1000]\n")
    argv = ["sweep", str(sweep), "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o/r.csv")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and "n_train=1000" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_reproduce_with_bad_threads_makes_no_out_dir_and_no_store(run_cli, tmp_path):
    argv = ["reproduce", "power2022-fraction", "--micro", "--threads", "-2"]
    status, _, err = run_cli([*argv, "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "--threads=-2" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_garbage_store_is_one_line_and_left_as_it_was(run_cli, tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    (store / "runs.sqlite").write_bytes(b"garbage" * 100)
    status, _, err = run_cli(["train", *TINY, "--store", str(store), "--out", str(tmp_path / "o")])
    assert status == 2 and one_line(err) and "not a groklab store" in err, err
    assert (store / "runs.sqlite").read_bytes() == b"garbage" * 100
    assert not (tmp_path / "o").exists()


def test_duplicate_seeds_in_a_toml_members_list_are_refused_like_seeds_flag(run_cli, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[data]\nop = "add"\np = 7\n[members]\nseed = [1, 1]\n')
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "gives 1 twice" in err, err
    assert not (tmp_path / "s").exists()
    status, _, flag_err = run_cli(
        ["train", *TINY, "--seeds", "1,1", "--store", str(tmp_path / "s")]
    )
    assert status == 2 and "distinct" in flag_err


def test_duplicate_values_in_a_grid_axis_are_refused(run_cli, tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + "[grid]\nseed = [0, 1, 1]\n")
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "seed gives 1 twice" in err, err
    assert not (tmp_path / "s").exists()
    sweep.write_text(SWEEP + "[grid]\nweight_decay = [1, 1.0]\n")  # one value, two spellings
    with pytest.raises(SpecError, match="twice"):
        load_sweep(sweep)


def test_a_population_of_a_sweep_with_repeated_seeds_round_trips_through_toml(tmp_path):
    from groklab.config import load_spec, save_spec
    from groklab.sweep import pack

    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + "[grid]\ntrain_fraction = [0.3, 0.6]\nseed = [0, 1]\n")
    (population,) = pack(expand(load_sweep(sweep)))
    assert [m.seed for m in population.members] == [0, 1, 0, 1]
    save_spec(population, tmp_path / "p.toml")
    assert load_spec(tmp_path / "p.toml") == population


@pytest.mark.parametrize(
    "name, size, says",
    [
        ("power2022-fraction", "--quick", "power2022-fraction reads no data file"),
        ("omnigrok-imdb", "--micro", "omnigrok-imdb --micro does not read it"),
    ],
)
def test_source_where_the_experiment_would_not_read_it_is_refused(
    run_cli, tmp_path, name, size, says
):
    argv = ["reproduce", name, size, "--source", "reviews.csv"]
    status, _, err = run_cli([*argv, "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and says in err, err
    assert list(tmp_path.iterdir()) == []


def test_runs_of_a_store_that_is_a_file_is_one_line_exit_2(run_cli, tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    status, out, err = run_cli(["runs", "--store", str(path)])
    assert status == 2 and one_line(err) and str(path) in err and "no runs" not in out, err


def test_data_export_to_an_empty_out_names_the_empty_string(run_cli):
    status, _, err = run_cli(["data", "export", "add", "--p", "7", "--out", ""])
    assert status == 2 and one_line(err) and "--out '' is empty" in err, err


def test_data_table_seed_beyond_the_seed_range_is_refused_like_train(run_cli, tmp_path):
    out = tmp_path / "t" / "table.png"
    status, _, err = run_cli(
        ["data", "table", "add", "--p", "7", "--seed", str(10**23), "--out", str(out)]
    )
    assert status == 2 and one_line(err) and str(2**63 - 1) in err, err
    assert not (tmp_path / "t").exists()
    status, _, err = run_cli(
        ["train", *TINY, "--seeds", str(10**23), "--store", str(tmp_path / "s")]
    )
    assert status == 2 and str(2**63 - 1) in err  # the same bound as a member's seed


def test_a_huge_grid_is_refused_with_its_count_before_it_is_expanded(run_cli, tmp_path):
    axes = "\n".join(
        f"{f} = [{', '.join(str(0.1 * i + 0.01) for i in range(1, 10))}]"
        for f in ["lr", "weight_decay", "init_scale", "train_fraction"]
    )
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + f'[grid]\nseed = "0-999"\n{axes}\n')  # 1000 x 9^4 = 6,561,000
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err), err
    assert "6,561,000 points" in err and "seed 1,000 x lr 9" in err and "--max-runs" in err
    assert not (tmp_path / "s").exists()


def test_max_runs_lifts_the_limit_and_the_file_can_set_it(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + "[grid]\nseed = [0, 1, 2]\n[sweep]\nmax_runs = 2\n")
    with pytest.raises(SpecError, match="3 points .* more than max_runs=2"):
        load_sweep(sweep)
    assert load_sweep(sweep, max_runs=3).n_points == 3
    assert SweepSpec(RunSpec()).max_runs == MAX_RUNS == 10_000


def test_planning_a_grid_reports_progress(tmp_path):
    sweep = SweepSpec(RunSpec(), grid={"seed": list(range(1200))})
    seen = []
    expand(sweep, lambda done, total: seen.append((done, total)))
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]


def test_a_member_flag_over_a_config_of_member_tables_is_one_line(run_cli, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        '[data]\nop = "add"\np = 7\n[[members]]\nseed = 0\n[[members]]\nseed = 0\nlr = 0.01\n'
    )
    argv = ["train", "--config", str(config), "--lr", "0.1", "--store", str(tmp_path / "s")]
    status, _, err = run_cli(argv)
    assert status == 2 and one_line(err) and "--lr cannot override" in err, err
    assert not (tmp_path / "s").exists()
