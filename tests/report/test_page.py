import html
import json
import re
import shutil
from dataclasses import asdict

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.measures.run import measure_run
from groklab.measures.s5_irreps import IRREP_NAMES, IRREPS
from groklab.report import build_run_page, write_report
from groklab.report.script import plotly_js
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, canonical_json, members_from
from groklab.store import RunStore

from .conftest import MEASURE, SPEC

FIGURES = re.compile(r'<script type="application/json" id="figures">(.*?)</script>', re.S)


def figures(page: str) -> dict[str, dict]:
    """Panel title -> the plotly figure the page draws (data and layout)."""
    found = FIGURES.findall(page)
    if not found:
        return {}
    (data,) = found
    by_id = json.loads(data)
    for key in by_id:  # each figure has its <div>
        assert f'<div class="plot" id="{key}"></div>' in page
    return {fig["layout"]["title"]["text"]: fig for fig in by_id.values()}


def rounded(values) -> list[float]:
    return [float(f"{v:.6g}") for v in values]


def table_row(page: str, first_cell: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(first_cell)}</td>(.*?)</tr>", page).group(1)
    return re.findall(r"<td>(.*?)</td>", row)


def run_page(report_dir) -> str:
    return (report_dir[0] / f"{SPEC.run_id}.html").read_text()


def test_run_page_has_spec_members_curves_norms_and_measures_by_family(report_dir):
    page = run_page(report_dir)
    assert f"<h1>Run {SPEC.run_id}</h1>" in page
    assert '"train_fraction": 0.7' in html.unescape(page)  # the canonical spec, in full
    for heading in ("Members", "Accuracy, loss and weight norm", "Per-parameter norms", "Measures"):
        assert f"<h2>{heading}</h2>" in page
    families = re.findall(r"<h3>(.*?)</h3>", page)
    assert [f.split(" ")[0] for f in families] == [
        "Fourier",  # fourier_embed stored, key_frequencies and gini not
        "Restricted",  # restricted loss: not stored, named with its command
        "Softmax",
        "Local",
        "Weight",  # eff_rank stored
        "Attention",
        "Other",  # MEASURE, which no registered measure stores
    ]
    titles = set(figures(page))
    assert {"accuracy", "loss", "weight norm", "norm", "fourier/embed", "eff_rank"} <= titles
    assert {"eff_rank2", MEASURE} <= titles


def test_curves_are_one_trace_per_member_and_metric_against_step_plus_one_on_a_log_axis(
    trained_store, report_dir
):
    with RunStore(trained_store) as store:
        curves = store.read_curves(SPEC.run_id)
    accuracy = figures(run_page(report_dir))["accuracy"]
    assert accuracy["layout"]["xaxis"]["type"] == "log"
    traces = accuracy["data"]
    assert [(t["name"], t["hovertemplate"].split("<br>")[0]) for t in traces] == [
        ("train_acc", "member 0"),
        ("val_acc", "member 0"),
        ("train_acc", "member 1"),
        ("val_acc", "member 1"),
    ]
    assert [t["showlegend"] for t in traces] == [True, True, False, False]  # one entry a metric
    for trace, (metric, member) in zip(
        traces, [("train_acc", 0), ("val_acc", 0), ("train_acc", 1), ("val_acc", 1)], strict=True
    ):
        assert trace["customdata"] == curves["step"].tolist()
        assert trace["x"] == (curves["step"] + 1).tolist()
        assert trace["y"] == rounded(curves[metric][member])
    loss = figures(run_page(report_dir))["loss"]
    assert loss["layout"]["yaxis"]["type"] == "log" and len(loss["data"]) == 4


def test_a_stored_measure_is_drawn_from_its_stored_values_at_its_own_steps(report_dir):
    panel = figures(run_page(report_dir))[MEASURE]
    assert [(t["name"], t["x"], t["customdata"], t["y"]) for t in panel["data"]] == [
        ("member 0", [11, 21], [10, 20], [0.25, 0.75]),
        ("member 1", [11, 21], [10, 20], [0.5, 1.5]),
    ]
    assert "step %{customdata}" in panel["data"][0]["hovertemplate"]


def test_values_sharing_a_prefix_are_one_panel_a_trace_per_key_and_member(
    trained_store, report_dir
):
    with RunStore(trained_store) as store:
        names = [n for n in store.measure_names(SPEC.run_id) if n.startswith("eff_rank/")]
        stored = store.read_measures(SPEC.run_id, names)
    panel = figures(run_page(report_dir))["eff_rank"]
    keys = [n.removeprefix("eff_rank/") for n in names]
    assert {"W_E", "W_U", "blocks.0.mlp.W_in"} <= set(keys)
    expected = [(f"member {m} {k}", k) for m in (0, 1) for k in keys]
    got = [(t["hovertemplate"].split("<br>")[0], t["name"]) for t in panel["data"]]
    assert got == expected
    for trace in panel["data"]:
        member, key = trace["hovertemplate"].split("<br>")[0].split(" ")[1:]
        assert trace["y"] == rounded(stored[f"eff_rank/{key}"][int(member)][-1:])
        assert trace["line"]["dash"] == ("solid" if member == "0" else "dash")


def test_the_heat_map_reads_the_stored_fourier_norms_without_loading_a_checkpoint(
    trained_store, tmp_path
):
    copy = tmp_path / "store"
    shutil.copytree(trained_store, copy)
    shutil.rmtree(copy / "checkpoints")  # nothing to load: the page reads the store only
    with RunStore(copy) as store:
        page = build_run_page(store, SPEC.run_id)
        stored = store.read_measures(SPEC.run_id, [f"fourier/embed/{k}" for k in range(4)])
    heat = figures(page)[f"{SPEC.run_id}: W_E by frequency at step 20"]
    (trace,) = heat["data"]
    assert trace["type"] == "heatmap" and trace["x"] == ["0", "1", "2", "3"]
    assert trace["y"] == ["member 0", "member 1"]
    expected = [[stored[f"fourier/embed/{k}"][m, -1] for k in range(4)] for m in (0, 1)]
    assert trace["z"] == [rounded(row) for row in expected]
    assert "Fourier basis of the additive group Z_p" in page


def test_a_measure_that_applies_but_is_not_stored_is_named_with_its_command_not_drawn(
    report_dir,
):
    page = html.unescape(run_page(report_dir))
    run = SPEC.run_id
    for command in (
        f"groklab measure {run} --measures gini,key_frequencies",
        f"groklab measure {run} --measures restricted_loss,restricted_loss_step_keys",
        f"groklab measure {run} --measures llc",
        f"groklab measure {run} --measures stable_rank,participation_ratio,htsr_alpha,"
        "correlation_traps",
    ):
        assert f"<code>{command}</code>" in page
    assert "--measures fourier_embed" not in page and "eff_rank," not in page  # stored
    assert not any(t.startswith(("gini", "fourier/neurons", "llc")) for t in figures(page))


def test_plotly_js_is_written_once_beside_the_pages_and_named_relatively(report_dir):
    out, paths, _ = report_dir
    script = out / "plotly.min.js"
    assert paths[0] == script and script.read_bytes() == plotly_js()
    page = run_page(report_dir)
    assert page.count("<script src=") == 1 and '<script src="plotly.min.js"></script>' in page
    assert len(page) < 200_000  # the library is not inlined
    assert "http" not in page.replace("http://www.w3.org", "")  # nothing to fetch: offline


def test_a_second_report_into_the_folder_leaves_an_identical_plotly_js_alone(
    trained_store, tmp_path
):
    paths = write_report([SPEC.run_id], tmp_path, store=trained_store)
    script = paths[0]
    stamp = script.stat().st_mtime_ns
    assert write_report([SPEC.run_id], tmp_path, store=trained_store)[0] == script
    assert script.stat().st_mtime_ns == stamp
    script.write_bytes(b"// stale")
    write_report([SPEC.run_id], tmp_path, store=trained_store)
    assert script.read_bytes() == plotly_js()


def test_members_table_shows_each_members_hyperparameters_and_summary(trained_store, report_dir):
    page = run_page(report_dir)
    with RunStore(trained_store) as store:
        curves = store.read_curves(SPEC.run_id)
    header = re.findall(r"<th>(.*?)</th>", page.split("<h2>Members</h2>")[1].split("</tr>")[0])
    assert header[:5] == ["member", "seed", "train_fraction", "lr", "weight_decay"]
    for i, member in enumerate(SPEC.members):
        cells = dict(zip(header[1:], table_row(page, f"{SPEC.run_id}/{i}"), strict=True))
        assert float(cells["seed"]) == member.seed
        assert float(cells["train_fraction"]) == member.train_fraction
        assert float(cells["lr"]) == member.lr
        assert float(cells["best val_acc"]) == pytest.approx(
            np.nanmax(curves["val_acc"][i]), abs=1e-3
        )


def test_report_writes_a_page_per_run_and_an_index_linking_them(report_dir):
    out, paths, seen = report_dir  # two names of one run: one page
    assert paths == [out / "plotly.min.js", out / f"{SPEC.run_id}.html", out / "index.html"]
    assert paths == seen
    index = (out / "index.html").read_text()
    links = re.findall(r'<a href="([^"]+)">', index)
    assert links == [f"{SPEC.run_id}.html"] and all((out / link).is_file() for link in links)
    assert "add p=7" in index and "<script" not in index


def test_an_unknown_run_writes_nothing(trained_store, tmp_path):
    out = tmp_path / "report"
    with pytest.raises(GroklabError, match=r"no run matches 'r-nope'") as e:
        write_report([SPEC.run_id, "r-nope"], out, store=trained_store)
    assert "\n" not in str(e.value)
    assert not out.exists()


def test_compare_with_fewer_than_two_runs_is_one_line_and_writes_nothing(trained_store, tmp_path):
    out = tmp_path / "report"
    with pytest.raises(GroklabError) as e:  # one run, named twice
        write_report([SPEC.run_id, SPEC.run_id[:6]], out, store=trained_store, compare=True)
    assert str(e.value) == f"--compare needs two or more runs; given 1 ({SPEC.run_id})"
    assert not out.exists()


def test_a_run_not_yet_trained_says_so_and_names_the_measures_to_add(tmp_path):
    spec = RunSpec(data=DataSpec(op="s5_mul"), members=SPEC.members)
    with RunStore(tmp_path) as store:
        store.create_run(
            spec.run_id,
            canonical_json(spec),
            n_members=2,
            summary="",
            members=[asdict(m) for m in spec.members],
        )
        page = build_run_page(store, spec.run_id)
    assert "no evaluation recorded yet" in page
    assert f"<code>groklab measure {spec.run_id} --measures fourier_embed_s5</code>" in page
    assert figures(page) == {}


def test_an_s5_runs_heat_map_shows_the_stored_irrep_energies_as_norms(tmp_path):
    spec = RunSpec(
        data=DataSpec(op="s5_conj"),
        model=ModelSpec(n_layers=1, d_model=8, n_heads=2, d_mlp=16),
        train=TrainSpec(steps=2, eval_every=2),
        members=SPEC.members,
    )
    with RunStore(tmp_path) as store:
        train(spec, store)
        measure_run(store, spec.run_id, ["fourier_embed_s5"])
        names = [f"fourier_s5/embed/{name}" for name in IRREP_NAMES]
        energies = store.read_measures(spec.run_id, names)
        page = build_run_page(store, spec.run_id)
    (trace,) = figures(page)[f"{spec.run_id}: W_E by irrep at step 2"]["data"]
    assert trace["x"] == [f"{name} ({IRREPS[name].shape[1]})" for name in IRREP_NAMES]
    expected = [[np.sqrt(energies[n][m, -1]) for n in names] for m in (0, 1)]
    assert trace["z"] == [rounded(row) for row in expected]
    assert "basis of S5&#x27;s irreducible representations" in page


def test_the_comparison_page_draws_every_member_of_every_run_named_by_run(trained_store, tmp_path):
    other = RunSpec(
        data=DataSpec(op="add", p=7),
        model=SPEC.model,
        train=SPEC.train,
        members=members_from(seed=[3], lr=1e-2),
    )
    store_copy = tmp_path / "store"
    shutil.copytree(trained_store, store_copy)
    with RunStore(store_copy) as store:
        train(other, store)
    out = tmp_path / "report"
    paths = write_report([SPEC.run_id, other.run_id], out, store=store_copy, compare=True)
    assert [p.name for p in paths] == [
        "plotly.min.js",
        f"{SPEC.run_id}.html",
        f"{other.run_id}.html",
        "compare.html",
        "index.html",
    ]
    page = (out / "compare.html").read_text()
    drawn = figures(page)
    members = [f"{SPEC.run_id}/0", f"{SPEC.run_id}/1", f"{other.run_id}/0"]
    accuracy = drawn["accuracy"]["data"]
    assert [t["hovertemplate"].split("<br>")[0] for t in accuracy] == [
        m for m in members for _ in ("train", "val")
    ]
    assert [t["name"] for t in accuracy] == [
        f"{run} {metric}"
        for run in (SPEC.run_id, SPEC.run_id, other.run_id)
        for metric in ("train_acc", "val_acc")
    ]
    colors = {t["line"]["color"] for t in accuracy[:4]}, {t["line"]["color"] for t in accuracy[4:]}
    assert len(colors[0]) == len(colors[1]) == 1 and colors[0] != colors[1]  # a colour a run
    assert [t["name"] for t in drawn["weight norm"]["data"]] == [
        f"{run} weight_norm" for run in (SPEC.run_id, SPEC.run_id, other.run_id)
    ]
    # a measure only the first run stored: its members' traces only, and the second run is told
    assert [t["name"] for t in drawn[MEASURE]["data"]] == members[:2]
    text = html.unescape(page)
    assert f"<code>groklab measure {other.run_id} --measures fourier_embed,gini," in text
    assert re.findall(r'<a href="([^"]+)">', page) == [
        f"{SPEC.run_id}.html",
        f"{other.run_id}.html",
    ]
    assert "lr 0.003" in page and "lr 0.01" in page  # what differs between the runs
    index = (out / "index.html").read_text()
    assert '<a href="compare.html">' in index


def test_the_llcs_sampler_settings_are_a_line_of_text_not_plots(trained_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(trained_store, copy)
    settings = {"llc_epsilon": 1e-4, "llc_gamma": 100.0, "llc_draws": 200.0}
    with RunStore(copy) as store:
        for step, llc in ((10, [3.0, 4.0]), (20, [5.0, 6.0])):
            values = {"llc": llc, "llc_rhat": [1.01, 1.2], "llc_trace/0/0": llc}
            store.write_metrics(
                SPEC.run_id, step, values | {k: [v, v] for k, v in settings.items()}
            )
        page = build_run_page(store, SPEC.run_id)
    drawn = figures(page)
    assert [t["y"] for t in drawn["llc"]["data"]] == [[3.0, 5.0], [4.0, 6.0]]
    assert "llc_rhat" in drawn and not any(t in drawn for t in settings)
    assert not any(t.startswith("llc_trace") for t in drawn)  # a trace's blocks: no panels
    assert "groklab curves RUN --measures llc_trace/" in page
    assert (
        f"Made with {SPEC.run_id} at step 20: llc_draws 200, llc_epsilon 0.0001, llc_gamma 100."
        in page
    )
    assert "--measures llc<" not in page  # stored: no command offered


def test_a_stored_name_that_looks_like_markup_stays_data(trained_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(trained_store, copy)
    name = "probe</script><script>alert(1)</script>"
    with RunStore(copy) as store:
        store.write_metrics(SPEC.run_id, 20, {name: [1.0, 2.0]})
        page = build_run_page(store, SPEC.run_id)
    assert "<script>alert" not in page and page.count("</script>") == 3  # the page's own three
    assert [t["y"] for t in figures(page)[name]["data"]] == [[1.0], [2.0]]


def test_fourier_norms_stored_as_nan_only_draw_no_heat_map(tmp_path):
    with RunStore(tmp_path) as store:
        train(SPEC, store)
        nan = {f"fourier/embed/{k}": [float("nan")] * 2 for k in range(4)}
        store.write_metrics(SPEC.run_id, 20, nan)
        page = build_run_page(store, SPEC.run_id)
    assert not any(title.startswith(f"{SPEC.run_id}: W_E") for title in figures(page))
    assert "--measures fourier_embed" not in page  # stored, though not a number
