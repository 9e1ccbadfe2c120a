"""Run and sweep files that are not what they claim (binary, UTF-16, nested thousands deep, a
device that never ends, a grid of tables, a backend that is not a name, an empty sweep file)
end in one line naming the file or value, exit 2, and nothing made (issue 14 item 5)."""

import os
from pathlib import Path

import pytest

import groklab.sweep

SWEEP = (
    '[data]\nop = "add"\np = 7\n[model]\nn_layers = 1\nd_model = 16\nn_heads = 2\n'
    "d_mlp = 32\n[train]\nsteps = 10\neval_every = 5\n"
)


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("groklab: error: ") and "Traceback" not in err


@pytest.mark.parametrize(
    "blob, says",
    [
        (b"\x80\x81[data]\n", "byte 0x80 at offset 0"),
        ('[data]\nop = "add"\n'.encode("utf-16"), "UTF-16"),
    ],
    ids=["binary", "utf-16"],
)
def test_a_config_that_is_not_utf8_is_one_line_naming_it(run_cli, tmp_path, blob, says):
    config = tmp_path / "run.toml"
    config.write_bytes(blob)
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and says in err and "UTF-8" in err, err
    assert str(config) in err and not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "text", ["a = " + "[" * 5000 + "]" * 5000, "[data]\na = " + "{b = " * 3000 + "1" + "}" * 3000]
)
def test_a_config_nested_thousands_deep_is_one_line(run_cli, tmp_path, text):
    config = tmp_path / "run.toml"
    config.write_text(text + "\n")
    status, _, err = run_cli(["train", "--config", str(config), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "too deeply" in err and str(config) in err, err
    assert not (tmp_path / "s").exists()


@pytest.mark.skipif(not os.path.exists("/dev/urandom"), reason="no /dev/zero, /dev/urandom")
@pytest.mark.parametrize(
    "command, device",
    [("train", "/dev/zero"), ("train", "/dev/urandom"), ("sweep", "/dev/zero")],
)
def test_an_endless_device_as_a_file_is_refused_after_reading_a_few_mib(
    run_cli, tmp_path, monkeypatch, command, device
):
    def whole(self, *args, **kwargs):  # reading /dev/zero whole would fill the memory
        raise AssertionError(f"read {self} whole")

    monkeypatch.setattr(Path, "read_text", whole)
    monkeypatch.setattr(Path, "read_bytes", whole)
    argv = ["train", "--config", device] if command == "train" else ["sweep", device]
    status, _, err = run_cli([*argv, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")])
    assert status == 2 and one_line(err) and f"'{device}' is larger than 4 MiB" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "grid, says",
    [
        ('"optim.transforms" = [[{a = 1}], ["grokfast_ema"]]', "[{'a': 1}]"),
        ("[grid.optim]\ntransforms = [[[1, 2]]]", "[[1, 2]]"),
    ],
    ids=["list-of-tables", "list-of-lists"],
)
def test_a_grid_of_tables_is_one_line_naming_the_value(run_cli, tmp_path, grid, says):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + ("" if grid.startswith("[grid.") else "[grid]\n") + grid + "\n")
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and says in err and "wrong type" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize(
    "option, says",
    [
        ("backend = 3", "backend=3 is not a name"),
        ('backend = ["local"]', "backend=['local'] is not a name"),
        ("workers = 0", "workers=0 is not allowed"),
        ('workers = "2"', "workers='2' is not allowed"),
        ("ray_address = 5", "ray_address=5 is not an address"),
    ],
)
def test_sweep_options_of_the_wrong_type_are_one_line(run_cli, tmp_path, option, says):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP + f"[grid]\nseed = [0, 1]\n[sweep]\n{option}\n")
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and says in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("text", ["", SWEEP, SWEEP + "[grid]\n"], ids=["empty", "no-grid", "{}"])
def test_a_sweep_file_without_grid_fields_is_refused_not_trained(
    run_cli, tmp_path, monkeypatch, text
):
    def trains(*args, **kwargs):  # the empty file's default run would train for hours
        raise AssertionError("the sweep trained")

    monkeypatch.setattr(groklab.sweep, "run_sweep", trains)
    sweep = tmp_path / "s.toml"
    sweep.write_text(text)
    status, _, err = run_cli(["sweep", str(sweep), "--store", str(tmp_path / "s")])
    assert status == 2 and one_line(err) and "has no [grid] fields" in err, err
    assert str(sweep) in err and sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]
