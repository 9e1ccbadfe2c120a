"""Tests for src/groklab/cli/main.py and cli/train.py, in-process and as `python -m groklab`.

Every bad input must end in exit status 2 and exactly one line on stderr that names the bad
value; no traceback, no file written, no run left in the store (the CLI's error contract).
"""

import contextlib
import csv
import io
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from groklab.cli import build_parser, main
from groklab.cli.spec_flags import spec_from_args
from groklab.data import OPS
from groklab.spec import MEMBER_FIELDS, PRESETS, SECTIONS, MemberSpec
from groklab.store import RunStore

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5"]
CURVES_HEADER = "member,step,train_loss,train_acc,val_loss,val_acc,weight_norm,lr"
RUN_LINE = re.compile(r"^run (r-[0-9a-f]{10}): ", re.MULTILINE)


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """groklab.cli.main(argv) with stdout and stderr captured: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:  # argparse errors
            status = e.code
    return status, out.getvalue(), err.getvalue()


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*"))


def assert_usage_error(tmp_path: Path, argv: list[str], *fragments: str) -> str:
    """The command fails with status 2, one stderr line naming `fragments`, and writes nothing."""
    before = files_under(tmp_path)
    status, _, err = run_main(argv)
    assert status == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert files_under(tmp_path) == before
    return err


def train_tiny(store: Path, *extra: str) -> tuple[int, str, str]:
    return run_main(["train", *TINY, "--store", str(store), *extra])


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny 3-member run, trained once for this module: (store, run id, stdout)."""
    store = tmp_path_factory.mktemp("trained") / "store"
    status, out, err = train_tiny(store, "--steps", "20", "--seeds", "0-2")
    assert status == 0, err
    return store, RUN_LINE.search(out).group(1), out


# -- ops and data ---------------------------------------------------------------------------


def test_ops_lists_all_17_operations_with_the_div_table_size(capsys):
    assert main(["ops"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in lines] == list(OPS)
    assert len(OPS) == 17
    div = next(line for line in lines if line.split()[0] == "div")
    assert div.split()[-1] == "9312"  # 97 * 96: every pair with y != 0


def test_data_export_writes_header_and_p_times_p_minus_1_rows_for_div(tmp_path, capsys):
    out = tmp_path / "div7.csv"
    assert main(["data", "export", "div", "--p", "7", "--out", str(out)]) == 0
    rows = read_csv(out)
    assert rows[0] == ["x", "y", "z"]
    body = [tuple(map(int, r)) for r in rows[1:]]
    assert len(body) == 7 * 6
    assert body == sorted(body)
    assert all(y != 0 and (z * y) % 7 == x for x, y, z in body)


def test_data_table_writes_a_png(tmp_path, capsys):
    out = tmp_path / "table.png"
    assert (
        main(["data", "table", "add", "--p", "7", "--train-fraction", "0.3", "--out", str(out)])
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["export", "pow", "--p", "7"], ["'pow'", "div"]),
        (["export", "div", "--p", "12"], ["p=12", "prime"]),
        (["export", "add", "--p", "1"], ["p=1"]),
        (["export", "add", "--p", "5000"], ["p=5000"]),
        (["export", "add", "--p", "x"], ["'x'"]),
        (["table", "add", "--p", "7", "--train-fraction", "1.5"], ["train_fraction=1.5"]),
        (["table", "add", "--p", "7", "--train-fraction", "0"], ["train_fraction=0"]),
        (["table", "add", "--p", "7", "--seed", "-1"], ["--seed=-1"]),
        (["table", "pow", "--p", "7"], ["'pow'"]),
    ],
)
def test_bad_data_input_is_one_line_status_2_and_writes_nothing(tmp_path, args, fragments):
    suffix = ".csv" if args[0] == "export" else ".png"
    argv = ["data", *args, "--out", str(tmp_path / f"out{suffix}")]
    assert_usage_error(tmp_path, argv, *fragments)


@pytest.mark.parametrize("command", ["export", "table"])
def test_data_out_into_a_missing_directory_creates_it(tmp_path, command):
    out = tmp_path / "missing" / "deeper" / ("t.csv" if command == "export" else "t.png")
    status, _, err = run_main(["data", command, "add", "--p", "7", "--out", str(out)])
    assert status == 0, err
    assert out.is_file() and out.stat().st_size > 0


@pytest.mark.parametrize("command", ["export", "table"])
def test_data_out_naming_a_directory_is_one_line_status_2(tmp_path, command):
    (tmp_path / "d").mkdir()
    argv = ["data", command, "add", "--p", "7", "--out", str(tmp_path / "d")]
    assert_usage_error(tmp_path, argv, "directory")


def test_unknown_op_as_a_real_process_exits_2_with_one_line_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "groklab", "data", "export", "pow", "--p", "7", "--out", "t.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "'pow'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


# -- train: bad input ---------------------------------------------------------------------------

CONFIGS = {
    "malformed.toml": "[data\np = 7\n",
    "unknown_key.toml": "[train]\nstepz = 5\n",
}


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--train-fraction", "1.5"], ["train_fraction=1.5"]),
        (["--train-fraction", "0"], ["train_fraction=0"]),
        (["--train-fraction", "0.5,1.5", "--seeds", "0-1"], ["train_fraction=1.5"]),
        (["--steps", "-3"], ["steps=-3"]),
        (["--steps", "2.5"], ["'2.5'"]),
        (["--seeds", "x"], ["seeds='x'"]),
        (["--seeds", "3,3"], ["seeds='3,3'"]),
        (["--seeds", "0-2", "--lr", "1e-3,1e-2"], ["seed: 3", "lr: 2"]),
        (["--lr", "abc"], ["'abc'"]),
        (["--n-outliers", "1.5"], ["'1.5'", "integer"]),
        (["--dropout", "1"], ["dropout=1.0"]),
        (["--op", "pow"], ["'pow'"]),
        (["--op", "div", "--p", "12"], ["p=12"]),
        (["--d-model", "15"], ["d_model=15", "n_heads=2"]),
        (["--optimizer", "lion"], ["'lion'", "adamw"]),
        (["--model", "gpt2"], ["'gpt2'"]),
        (["--attn-bias", "maybe"], ["'maybe'"]),
        (["--checkpoint-every", "0"], ["--checkpoint-every=0"]),
        (["--config", "{tmp}/nope.toml"], ["nope.toml"]),
        (["--config", "{tmp}/malformed.toml"], ["malformed.toml"]),
        (["--config", "{tmp}/unknown_key.toml"], ["'stepz'"]),
        (["--out", "{tmp}/malformed.toml"], ["malformed.toml", "is a file"]),
        (["--device", "tpu"], ["'tpu'"]),
    ],
)
def test_bad_train_input_is_one_line_status_2_and_leaves_no_store(tmp_path, extra, fragments):
    for name, text in CONFIGS.items():
        (tmp_path / name).write_text(text)
    extra = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    store = tmp_path / "store"
    assert_usage_error(tmp_path, ["train", *TINY, "--store", str(store), *extra], *fragments)
    assert not store.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_train_on_cuda_without_cuda_is_one_line_status_2(tmp_path):
    assert_usage_error(
        tmp_path, ["train", *TINY, "--store", str(tmp_path / "s"), "--device", "cuda"], "'cuda'"
    )


def test_bad_train_as_a_real_process_exits_2_and_runs_lists_no_run(tmp_path):
    bad = [sys.executable, "-m", "groklab", "train", *TINY, "--store", "s", "--steps", "-3"]
    proc = subprocess.run(bad, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "steps=-3" in proc.stderr and "Traceback" not in proc.stderr
    status, out, _ = run_main(["runs", "--store", str(tmp_path / "s")])
    assert status == 0 and out.startswith("no runs in")


TOO_MANY_OUTLIERS = ["--n-outliers", "1000", "--steps", "2"]  # p=7: only 24 training pairs


def test_too_many_outliers_is_status_2_and_leaves_no_run(tmp_path):
    store = tmp_path / "store"
    status, _, err = train_tiny(store, *TOO_MANY_OUTLIERS)
    assert status == 2 and "n_outliers=1000" in err
    assert [r.run_id for r in RunStore(store).list_runs()] == []


def test_too_many_outliers_error_is_the_only_line_on_stderr(tmp_path):
    status, _, err = train_tiny(tmp_path / "store", *TOO_MANY_OUTLIERS)
    assert status == 2 and "n_outliers=1000" in err
    assert len(err.strip().splitlines()) == 1, err


# -- train: end to end --------------------------------------------------------------------------


def test_train_prints_the_run_id(trained):
    _, run_id, out = trained
    assert re.fullmatch(r"r-[0-9a-f]{10}", run_id)
    assert out.startswith(f"run {run_id}: add p=7")


def test_train_prints_one_summary_line_per_member(trained):
    _, run_id, out = trained
    summaries = [line for line in out.splitlines() if line.startswith(f"{run_id}/")]
    assert [line.split()[0] for line in summaries] == [f"{run_id}/{i}" for i in range(3)]
    assert all("99% train" in line and "99% val" in line for line in summaries)


def test_runs_lists_the_trained_run_as_done_at_its_last_step(trained):
    store, run_id, _ = trained
    status, out, _ = run_main(["runs", "--store", str(store)])
    row = next(line for line in out.splitlines() if line.startswith(run_id))
    assert status == 0 and row.split()[1:4] == ["done", "3", "20"]


def test_curves_writes_the_documented_header_and_every_member(trained, tmp_path):
    store, run_id, _ = trained
    out = tmp_path / "f.csv"
    status, _, err = run_main(["curves", run_id, "--out", str(out), "--store", str(store)])
    assert status == 0, err
    rows = read_csv(out)
    assert ",".join(rows[0]) == CURVES_HEADER
    assert {r[0] for r in rows[1:]} == {"0", "1", "2"}
    assert {int(r[1]) for r in rows[1:]} >= {0, 20}
    assert all(0.0 <= float(r[3]) <= 1.0 for r in rows[1:])


def test_curves_layers_writes_each_parameters_norm_whose_squares_sum_to_the_weight_norm(
    trained, tmp_path
):
    store, run_id, _ = trained
    out, total = tmp_path / "layers.csv", tmp_path / "total.csv"
    args = ["--store", str(store)]
    assert run_main(["curves", run_id, "--layers", "--out", str(out), *args])[0] == 0
    assert run_main(["curves", run_id, "--out", str(total), *args])[0] == 0
    rows, totals = read_csv(out), read_csv(total)
    assert rows[0][:2] == ["member", "step"] and "W_E" in rows[0]
    norm = {(r[0], r[1]): float(r[6]) for r in totals[1:]}  # weight_norm column
    for r in rows[1:]:
        squares = sum(float(v) ** 2 for v in r[2:])
        assert abs(squares**0.5 - norm[(r[0], r[1])]) < 1e-4 * norm[(r[0], r[1])]


def test_curves_accepts_a_unique_prefix_of_the_run_id(trained, tmp_path):
    store, run_id, _ = trained
    out = tmp_path / "f.csv"
    assert run_main(["curves", run_id[:5], "--out", str(out), "--store", str(store)])[0] == 0
    assert out.read_text().startswith(CURVES_HEADER)


def test_curves_measures_adds_those_columns_in_order_after_the_unchanged_ones(trained, tmp_path):
    store, run_id, _ = trained
    plain, extra = tmp_path / "plain.csv", tmp_path / "extra.csv"
    args = ["--store", str(store)]
    assert run_main(["curves", run_id, "--out", str(plain), *args])[0] == 0
    argv = ["curves", run_id, "--measures", "norm/W_U,norm/W_E", "--out", str(extra), *args]
    assert run_main(argv)[0] == 0
    rows, base = read_csv(extra), read_csv(plain)
    assert ",".join(rows[0]) == CURVES_HEADER + ",norm/W_U,norm/W_E"
    assert [r[:8] for r in rows] == base  # same rows, same metric fields
    norms = RunStore(store).read_layer_norms(run_id)
    for r in rows[1:]:
        j = list(norms["step"]).index(int(r[1]))
        assert [float(r[8]), float(r[9])] == [
            norms["W_U"][int(r[0]), j],
            norms["W_E"][int(r[0]), j],
        ]


def test_curves_all_adds_every_measure_of_the_run_sorted(trained, tmp_path):
    store, run_id, _ = trained
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    with RunStore(copy) as s:
        s.write_metrics(run_id, 20, {"fourier_gini": [0.5, 0.25, 0.125]})
        names = s.measure_names(run_id)
    out = tmp_path / "all.csv"
    assert run_main(["curves", run_id, "--all", "--out", str(out), "--store", str(copy)])[0] == 0
    rows = read_csv(out)
    extra = [n for n in names if n not in CURVES_HEADER.split(",")]
    assert rows[0][8:] == extra == sorted(extra) and "fourier_gini" in extra
    gini = {r[0]: r[rows[0].index("fourier_gini")] for r in rows[1:] if r[1] == "20"}
    assert gini == {"0": "0.5", "1": "0.25", "2": "0.125"}
    assert all(r[rows[0].index("fourier_gini")] == "" for r in rows[1:] if r[1] != "20")


def test_curves_unknown_measure_is_one_line_status_2_listing_the_runs_measures(trained, tmp_path):
    store, run_id, _ = trained
    argv = ["curves", run_id, "--measures", "norm/W_E,gini", "--out", str(tmp_path / "f.csv")]
    assert_usage_error(tmp_path, [*argv, "--store", str(store)], "'gini'", "norm/W_E, norm/W_U")


def test_curves_layers_with_all_is_one_line_status_2(trained, tmp_path):
    store, run_id, _ = trained
    argv = ["curves", run_id, "--layers", "--all", "--out", str(tmp_path / "f.csv")]
    assert_usage_error(tmp_path, [*argv, "--store", str(store)], "--all", "--layers")


def test_plot_writes_a_png(trained, tmp_path):
    store, run_id, _ = trained
    out = tmp_path / "f.png"
    status, _, err = run_main(["plot", run_id, "--out", str(out), "--store", str(store)])
    assert status == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("command", ["curves", "plot"])
def test_unknown_run_id_is_one_line_status_2(trained, tmp_path, command):
    store, _, _ = trained
    argv = [command, "r-ffffffffff", "--out", str(tmp_path / "f.png"), "--store", str(store)]
    assert_usage_error(tmp_path, argv, "'r-ffffffffff'")


@pytest.mark.parametrize("command", ["curves", "plot"])
def test_unknown_run_id_in_a_missing_store_creates_no_store(tmp_path, command):
    argv = [command, "r-ffffffffff", "--out", str(tmp_path / "f.png")]
    assert_usage_error(tmp_path, [*argv, "--store", str(tmp_path / "s")], "'r-ffffffffff'")


@pytest.mark.parametrize("command", ["curves", "plot"])
def test_out_into_a_missing_directory_creates_it(trained, tmp_path, command):
    store, run_id, _ = trained
    out = tmp_path / "missing" / "deeper" / ("f.png" if command == "plot" else "f.csv")
    status, _, err = run_main([command, run_id, "--out", str(out), "--store", str(store)])
    assert status == 0, err
    assert out.is_file() and out.stat().st_size > 0


def test_runs_on_a_missing_store_says_no_runs_and_creates_nothing(tmp_path):
    status, out, _ = run_main(["runs", "--store", str(tmp_path / "s")])
    assert status == 0 and out.startswith("no runs in")
    assert files_under(tmp_path) == []


def test_training_the_same_spec_again_reports_it_done_without_training_more(tmp_path):
    store = tmp_path / "store"
    assert train_tiny(store, "--steps", "10")[0] == 0
    status, out, _ = train_tiny(store, "--steps", "10")
    run_id = RUN_LINE.search(out).group(1)
    assert status == 0 and f"run {run_id} is already done at step 10" in out
    assert f"{run_id}/0 " in out
    records = RunStore(store).list_runs()
    assert [(r.run_id, r.status, r.step) for r in records] == [(run_id, "done", 10)]


def test_training_a_done_spec_again_keeps_its_curves(tmp_path):
    store = tmp_path / "store"
    _, out, _ = train_tiny(store, "--steps", "10")
    run_id = RUN_LINE.search(out).group(1)
    before = RunStore(store).read_curves(run_id)["step"].tolist()
    train_tiny(store, "--steps", "10")
    assert RunStore(store).read_curves(run_id)["step"].tolist() == before


def test_train_with_out_writes_the_runs_curves_and_figure(tmp_path):
    (tmp_path / "results").mkdir()
    status, out, err = train_tiny(
        tmp_path / "s", "--steps", "3", "--out", str(tmp_path / "results")
    )
    assert status == 0, err
    run_id = RUN_LINE.search(out).group(1)
    assert (tmp_path / "results" / f"{run_id}.csv").read_text().startswith(CURVES_HEADER)
    assert (tmp_path / "results" / f"{run_id}.png").read_bytes()[:4] == b"\x89PNG"


# -- train: config files and flags ---------------------------------------------------------------

TINY_TOML = """
[data]
op = "add"
p = 7
[model]
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32
[train]
steps = 3
eval_every = 5
[members]
seed = "0-1"
"""


def parse(argv: list[str]):
    return spec_from_args(build_parser().parse_args(["train", *argv]))


def parse_line(flags: str):
    return parse(shlex.split(flags))


def test_config_with_a_flag_override_trains_the_overridden_value(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TINY_TOML)
    store = tmp_path / "store"
    argv = ["train", "--config", str(config), "--steps", "4", "--store", str(store)]
    status, out, err = run_main(argv)
    assert status == 0, err
    run_id = RUN_LINE.search(out).group(1)
    assert "steps=4 seeds=0,1" in out
    record = RunStore(store).get_run(run_id)
    assert (record.status, record.step, record.n_members) == ("done", 4, 2)
    assert '"steps":4' in record.spec_json


def test_flags_equal_to_the_config_give_the_same_run_id(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TINY_TOML)
    from_file = parse(["--config", str(config)])
    from_flags = parse([*TINY, "--steps", "3", "--seeds", "0-1"])
    assert from_file == from_flags and from_file.run_id == from_flags.run_id


def test_a_member_flag_broadcasts_against_config_member_lists(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TINY_TOML.replace('seed = "0-1"', "seed = [0, 1, 2]"))
    spec = parse(["--config", str(config), "--weight-decay", "0.3"])
    assert [(m.seed, m.weight_decay) for m in spec.members] == [(0, 0.3), (1, 0.3), (2, 0.3)]


def test_model_flag_with_a_config_starts_from_the_named_preset(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TINY_TOML)
    spec = parse(["--config", str(config), "--model", "nanda2023", "--d-model", "32"])
    assert spec.model == replace(PRESETS["nanda2023"], d_model=32)


def test_member_lists_on_the_command_line_make_one_member_each():
    spec = parse([*TINY, "--seeds", "0-2", "--lr", "1e-3,2e-3,3e-3", "--train-fraction", "0.4"])
    assert [(m.seed, m.lr, m.train_fraction) for m in spec.members] == [
        (0, 1e-3, 0.4),
        (1, 2e-3, 0.4),
        (2, 3e-3, 0.4),
    ]


def test_readme_train_command_parses_to_the_power2022_setup():
    spec = parse_line(
        "--op div --p 97 --train-fraction 0.5 --model power2022 --optimizer adamw --lr 1e-3 "
        "--weight-decay 1 --warmup-steps 10 --batch-size 512 --stop-at-val-acc 0.99"
    )
    assert (spec.data.op, spec.data.p, spec.model) == ("div", 97, PRESETS["power2022"])
    assert (spec.train.batch_size, spec.train.stop_at_val_acc) == (512, 0.99)
    assert spec.members == (MemberSpec(train_fraction=0.5, lr=1e-3, weight_decay=1.0),)


def test_readme_population_command_gives_one_weight_decay_per_seed():
    spec = parse_line("--op add --p 97 --seeds 0-3 --weight-decay 0.3,1,1,3")
    assert [(m.seed, m.weight_decay) for m in spec.members] == [(0, 0.3), (1, 1), (2, 1), (3, 3)]


def test_batch_size_flag_takes_a_rule_or_a_number():
    assert parse(["--batch-size", "full"]).train.batch_size == "full"
    assert parse(["--batch-size", "64"]).train.batch_size == 64


def test_integer_member_flags_read_as_integers():
    spec = parse([*TINY, "--seeds", "0-1", "--n-outliers", "2,3", "--dropout", "0.1"])
    assert [(m.n_outliers, m.dropout) for m in spec.members] == [(2, 0.1), (3, 0.1)]
    assert all(isinstance(m.n_outliers, int) for m in spec.members)


def test_every_spec_field_has_a_train_flag_of_the_same_name():
    help_text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    names = [f for cls in SECTIONS.values() for f in cls.__dataclass_fields__]
    names += [name for name in MEMBER_FIELDS if name != "seed"]
    missing = [n for n in names if f"--{n.replace('_', '-')}" not in help_text]
    assert missing == [] and "--seeds" in help_text
