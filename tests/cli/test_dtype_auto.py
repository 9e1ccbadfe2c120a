"""`groklab train --dtype auto` (the default): the line that says which dtype, the run id."""

import json
import re

from groklab.store import RunStore
from groklab.train import precision

AVX2 = {"fpu", "sse2", "avx2", "fma"}
AMX = AVX2 | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}

TINY = ["--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "5"]


def run_id(out: str) -> str:
    return re.search(r"^run (r-[0-9a-f]{10})", out, re.M).group(1)


def test_auto_by_default_says_float32_and_keeps_the_float32_run_id(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: AVX2)
    status, out, err = run_cli(["train", *TINY, "--store", str(tmp_path / "a")])
    assert status == 0, err
    assert "dtype float32 (auto: no fast bf16)" in out.splitlines()
    status, explicit, err = run_cli(
        ["train", *TINY, "--dtype", "float32", "--store", str(tmp_path / "b")]
    )
    assert status == 0, err
    assert "auto" not in explicit
    assert run_id(out) == run_id(explicit)  # auto resolved to float32 is today's float32 run


def test_auto_that_resolves_to_bf16_records_bf16_and_gets_the_bf16_run_id(
    run_cli, tmp_path, monkeypatch
):
    monkeypatch.setattr(precision, "cpu_flags", lambda: AMX)
    monkeypatch.setitem(precision.GROKKING_CHECKED, "cpu", True)
    argv = ["train", *TINY, "--steps", "1", "--eval-every", "1", "--device", "cpu"]
    status, out, err = run_cli([*argv, "--dtype", "auto", "--store", str(tmp_path / "a")])
    assert status == 0, err
    assert "dtype bf16 (auto: fast bf16 (amx_bf16), grokking check passed)" in out
    status, bf16, err = run_cli([*argv, "--dtype", "bf16", "--store", str(tmp_path / "b")])
    status, fp32, err = run_cli([*argv, "--dtype", "float32", "--store", str(tmp_path / "c")])
    assert run_id(out) == run_id(bf16) != run_id(fp32)
    with RunStore(tmp_path / "a") as store:
        assert json.loads(store.get_run(run_id(out)).spec_json)["train"]["dtype"] == "bf16"


def test_a_bad_dtype_is_one_line_naming_it_and_the_choices(run_cli, tmp_path):
    status, out, err = run_cli(["train", *TINY, "--dtype", "half", "--store", str(tmp_path / "s")])
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "half" in err and "float32" in err
    assert not (tmp_path / "s").exists()


def test_an_unknown_dtype_names_auto_among_the_choices_and_writes_nothing(run_cli, tmp_path):
    status, _, err = run_cli(["train", *TINY, "--dtype", "bf17", "--store", str(tmp_path / "s")])
    assert status == 2 and err.count("\n") == 1
    assert "'bf17'" in err and "auto, float32, bf16, float64" in err
    assert not (tmp_path / "s").exists()
