"""The report in a real browser: headless Chromium opens the pages with no console error,
plotly draws every figure as SVG, a drag across a plot zooms its log step axis and hovering a
point shows its member, step and value. Skipped where Chromium is absent (CI installs it)."""

import json
import math
import re
import shutil

import pytest

from groklab.report import write_report
from groklab.run import train
from groklab.spec import RunSpec, members_from
from groklab.store import RunStore

from .chromium import find_chromium, open_pages, open_tab
from .conftest import MEASURE, SPEC

METRICS = ("train_acc", "val_acc")
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian/Ubuntu: apt-get install -y chromium); "
    "the report's browser test needs it",
)

# Each drawn plot: its title, whether plotly's SVG is there, its scatter traces in the DOM, the
# x axis range plotly holds and the x tick labels in the SVG.
PLOTS_JS = """[...document.querySelectorAll(".js-plotly-plot")].map(p => ({
  title: p.layout.title.text, svg: p.querySelector("svg.main-svg") !== null,
  traces: p.querySelectorAll(".scatterlayer .trace").length,
  heatmaps: p.querySelectorAll(".heatmaplayer image, .hm image").length,
  range: p.layout.xaxis && p.layout.xaxis.range,
  ticks: [...p.querySelectorAll(".xtick text")].map(t => t.textContent)}))"""


def plot_of(title: str) -> str:
    """Script that finds the drawn plot titled `title`."""
    plots = '[...document.querySelectorAll(".js-plotly-plot")]'
    return f"{plots}.find(p => p.layout.title.text === {json.dumps(title)})"


def figures_on(page_path) -> dict:
    text = page_path.read_text()
    data = re.search(r'<script type="application/json" id="figures">(.*?)</script>', text, re.S)
    return json.loads(data.group(1))


@needs_chromium
def test_every_figure_is_drawn_as_svg_and_a_drag_zooms_the_log_step_axis(report_dir):
    out, _, _ = report_dir
    page = out / f"{SPEC.run_id}.html"
    expected = figures_on(page)
    with open_tab(CHROMIUM, page) as tab:
        count = f'document.querySelectorAll(".js-plotly-plot").length === {len(expected)}'
        tab.wait_until(count)
        plots = {p["title"]: p for p in tab.evaluate(PLOTS_JS)}
        assert set(plots) == {f["layout"]["title"]["text"] for f in expected.values()}
        assert all(p["svg"] for p in plots.values())
        for figure in expected.values():  # every trace of every line plot is in the DOM
            drawn = plots[figure["layout"]["title"]["text"]]
            if figure["data"][0]["type"] == "scatter":
                assert drawn["traces"] == len(figure["data"])
        assert plots["accuracy"]["traces"] == 4  # train and val of two members

        before = plots["accuracy"]
        lo, hi = before["range"]  # log10(step + 1): 0 .. log10(21)
        assert lo == pytest.approx(0, abs=0.1) and hi == pytest.approx(math.log10(21), abs=0.1)
        box = tab.evaluate(
            f"(() => {{ const p = {plot_of('accuracy')}; p.scrollIntoView();"
            "const r = p.querySelector('.nsewdrag').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height]; })()"
        )
        left, top, width, height = box
        y = top + height / 2
        tab.drag((left + 0.5 * width, y), (left + 0.9 * width, y))  # a horizontal drag
        zoomed = tab.wait_until(
            f"(() => {{ const r = {plot_of('accuracy')}.layout.xaxis.range;"
            f"return r[0] > {lo} + 0.1 ? r : null; }})()"
        )
        assert lo < zoomed[0] < zoomed[1] < hi + 0.1
        assert zoomed[1] - zoomed[0] < 0.6 * (hi - lo)  # narrower: zoomed in on the step axis
        after = next(p for p in tab.evaluate(PLOTS_JS) if p["title"] == "accuracy")
        assert after["ticks"] != before["ticks"]  # the SVG's own axis labels changed
        assert tab.errors == []


@needs_chromium
def test_hovering_a_point_shows_its_member_step_and_value(report_dir):
    out, _, _ = report_dir
    with open_tab(CHROMIUM, out / f"{SPEC.run_id}.html") as tab:
        tab.wait_until(f"{plot_of(MEASURE)} !== undefined")
        x, y = tab.evaluate(
            f"(() => {{ const p = {plot_of(MEASURE)}; p.scrollIntoView();"
            "const r = p.querySelector('.scatterlayer .trace .point').getBoundingClientRect();"
            "return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        tab.mouse("mouseMoved", x - 30, y - 30)
        tab.mouse("mouseMoved", x, y)
        text = tab.wait_until(
            f"(() => {{ const h = {plot_of(MEASURE)}.querySelector('.hoverlayer .hovertext');"
            "return h && h.textContent; })()"
        )
        assert "member 0" in text and "step 10" in text and "0.25" in text
        assert tab.errors == []


@needs_chromium
def test_the_comparison_page_draws_both_runs_and_the_index_opens(trained_store, tmp_path):
    other = RunSpec(
        data=SPEC.data, model=SPEC.model, train=SPEC.train, members=members_from(seed=[3])
    )
    store = tmp_path / "store"
    shutil.copytree(trained_store, store)
    with RunStore(store) as opened:
        train(other, opened)
    out = tmp_path / "report"
    write_report([SPEC.run_id, other.run_id], out, store=store, compare=True)
    with open_tab(CHROMIUM, out / "compare.html") as tab:
        tab.wait_until(f"{plot_of('accuracy')} !== undefined")
        legend = tab.evaluate(
            f"[...{plot_of('accuracy')}.querySelectorAll('.legendtext')].map(t => t.textContent)"
        )
        traces = next(p for p in tab.evaluate(PLOTS_JS) if p["title"] == "accuracy")["traces"]
        assert tab.errors == []
    assert traces == 6  # train and val of 2 + 1 members
    assert legend == [f"{run} {m}" for run in (SPEC.run_id, other.run_id) for m in METRICS]
    (index,) = open_pages(CHROMIUM, [out / "index.html"])
    assert index.errors == [] and index.images == []


@needs_chromium
def test_a_page_without_its_plotly_js_says_so_in_each_plot(report_dir, tmp_path):
    out, _, _ = report_dir
    alone = tmp_path / "alone.html"
    shutil.copy(out / f"{SPEC.run_id}.html", alone)  # plotly.min.js not beside it
    with open_tab(CHROMIUM, alone) as tab:
        texts = tab.evaluate('[...document.querySelectorAll(".plot")].map(d => d.textContent)')
        assert texts and all("needs plotly.min.js beside this page" in t for t in texts)
        assert any("ERR_FILE_NOT_FOUND" in e for e in tab.errors)


@needs_chromium
def test_the_browser_check_sees_console_errors_scripts_and_missing_files(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>broken</p><img src='missing.png' alt='gone'>"
        "<script>console.error('boom'); notAFunction();</script></body></html>"
    )
    (view,) = open_pages(CHROMIUM, [bad])
    assert "boom" in view.errors
    assert any("Uncaught" in e for e in view.errors)
    assert any("ERR_FILE_NOT_FOUND" in e for e in view.errors)
    assert view.images == [
        {
            "alt": "gone",
            "x": view.images[0]["x"],
            "y": view.images[0]["y"],
            "width": view.images[0]["width"],
            "height": view.images[0]["height"],
            "loaded": False,
        }
    ]
