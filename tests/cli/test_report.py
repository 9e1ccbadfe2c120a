"""Tests for src/groklab/cli/report.py: `groklab report RUN [RUN ...] | --all --out DIR`."""

import re

TINY = "--op add --p 7 --model mlp --d-model 8 --d-mlp 16 --n-layers 1 --steps 20 --eval-every 10"


def test_report_writes_each_runs_page_and_the_index_and_refuses_a_bad_id(run_cli, tmp_path):
    store = str(tmp_path / "store")
    code, out, err = run_cli(["train", *TINY.split(), "--seeds", "0-1", "--store", store])
    assert code == 0, err
    run_id = re.search(r"r-[0-9a-f]{10}", out).group(0)
    code, out, err = run_cli(["report", "--all", "--out", str(tmp_path / "rep"), "--store", store])
    assert code == 0, err
    page = (tmp_path / "rep" / f"{run_id}.html").read_text()
    assert f"wrote {tmp_path / 'rep' / 'index.html'}" in out and "open " in out
    assert "Embedding Fourier norms" in page and "<h2>Measures</h2>" not in page
    assert re.findall(r"alt=\"(\w+)\"", page) == ["curves", "norms", "Fourier"]  # the MLP has a W_E

    code, out, err = run_cli(
        ["report", run_id, "r-0000000000", "--out", str(tmp_path / "bad"), "--store", store]
    )
    assert code == 2 and err.count("\n") == 1 and "'r-0000000000'" in err
    assert not (tmp_path / "bad").exists()  # nothing written, not even the directory
    code, _, err = run_cli(
        ["report", run_id, "--all", "--out", str(tmp_path / "x"), "--store", store]
    )
    assert code == 2 and "run ids or --all, not both" in err


def test_report_without_a_store_or_runs_is_one_line_and_exit_2(run_cli, tmp_path):
    code, _, err = run_cli(
        ["report", "r-1", "--out", str(tmp_path / "r"), "--store", str(tmp_path)]
    )
    assert code == 2 and err.count("\n") == 1 and "no store at" in err
    code, _, err = run_cli(["report", "--out", str(tmp_path / "r")])
    assert code == 2 and "no run given" in err or "no store" in err
    assert not (tmp_path / "r").exists()
