"""Tests for src/groklab/cli/report.py: `groklab report RUN [RUN ...] | --all [--compare]
--out DIR`."""

import html
import json
import re

TINY = "--op add --p 7 --model mlp --d-model 8 --d-mlp 16 --n-layers 1 --steps 20 --eval-every 10"


def train_tiny(run_cli, store: str, seeds: str) -> str:
    code, out, err = run_cli(["train", *TINY.split(), "--seeds", seeds, "--store", store])
    assert code == 0, err
    return re.search(r"r-[0-9a-f]{10}", out).group(0)


def figures(page: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    return list(json.loads(found.group(1)).values())


def titles(page: str) -> list[str]:
    return [figure["layout"]["title"]["text"] for figure in figures(page)]


def test_report_writes_each_runs_page_and_the_index_and_refuses_a_bad_id(run_cli, tmp_path):
    store = str(tmp_path / "store")
    run_id = train_tiny(run_cli, store, "0-1")
    code, out, err = run_cli(["report", "--all", "--out", str(tmp_path / "rep"), "--store", store])
    assert code == 0, err
    page = html.unescape((tmp_path / "rep" / f"{run_id}.html").read_text())
    assert f"wrote {tmp_path / 'rep' / 'plotly.min.js'}" in out
    assert f"wrote {tmp_path / 'rep' / 'index.html'}" in out and "open " in out
    # an MLP: curves and norms drawn; no measure stored, those that apply named with a command
    assert titles(page) == ["accuracy", "loss", "weight norm", "norm"]
    assert f"<code>groklab measure {run_id} --measures softmax_collapse,zero_loss</code>" in page
    assert "Fourier view" not in page  # no Fourier measure applies to an MLP

    code, out, err = run_cli(
        ["report", run_id, "r-0000000000", "--out", str(tmp_path / "bad"), "--store", store]
    )
    assert code == 2 and err.count("\n") == 1 and "'r-0000000000'" in err
    assert not (tmp_path / "bad").exists()  # nothing written, not even the directory
    code, _, err = run_cli(
        ["report", run_id, "--all", "--out", str(tmp_path / "x"), "--store", store]
    )
    assert code == 2 and "run ids or --all, not both" in err


def test_compare_draws_two_runs_on_one_page_and_refuses_fewer_than_two(run_cli, tmp_path):
    store = str(tmp_path / "store")
    first = train_tiny(run_cli, store, "0-1")
    out = tmp_path / "one"
    code, _, err = run_cli(["report", first, "--compare", "--out", str(out), "--store", store])
    assert (code, err) == (
        2,
        f"groklab: error: --compare needs two or more runs; given 1 ({first})\n",
    )
    code, _, err = run_cli(["report", "--all", "--compare", "--out", str(out), "--store", store])
    assert code == 2 and err.count("\n") == 1 and "--compare needs two or more runs" in err
    assert not out.exists()

    second = train_tiny(run_cli, store, "2")
    out = tmp_path / "both"
    code, stdout, err = run_cli(
        ["report", first, second[:8], "--compare", "--out", str(out), "--store", store]
    )
    assert code == 0, err
    assert f"wrote {out / 'compare.html'}" in stdout
    page = (out / "compare.html").read_text()
    accuracy = figures(page)[0]
    names = [trace["hovertemplate"].split("<br>")[0] for trace in accuracy["data"]]
    assert names == [f"{first}/0"] * 2 + [f"{first}/1"] * 2 + [f"{second}/0"] * 2
    code, _, err = run_cli(
        ["report", first, "r-0000000000", "--compare", "--out", str(tmp_path / "x")]
        + ["--store", store]
    )
    assert code == 2 and err.count("\n") == 1 and "'r-0000000000'" in err
    assert not (tmp_path / "x").exists()


def test_report_without_a_store_or_runs_is_one_line_and_exit_2(run_cli, tmp_path):
    code, _, err = run_cli(
        ["report", "r-1", "--out", str(tmp_path / "r"), "--store", str(tmp_path)]
    )
    assert code == 2 and err.count("\n") == 1 and "no store at" in err
    code, _, err = run_cli(["report", "--out", str(tmp_path / "r")])
    assert code == 2 and "no run given" in err or "no store" in err
    assert not (tmp_path / "r").exists()
