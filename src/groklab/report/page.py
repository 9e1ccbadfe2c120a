"""`groklab report`: an HTML page per run, a page comparing runs, and an index linking them.

A run's page holds its spec, each member's hyper-parameters and summary, and interactive plots
(plotly, `figures.py`) of what the store holds: the accuracy and loss curves with the weight
norm, each parameter's norm (`norm/<name>`), and every other stored measure grouped by family
(`sections.py`), the embedding's norms per frequency (or S5 irrep) among the Fourier ones. A
measure that applies but is not stored is named with the `groklab measure` command that adds
it; the report computes nothing. `--compare` draws several runs on one page, a trace per
member of each run. The pages share one plotly.js beside them (`script.py`), so the folder
opens offline.

    >>> write_report(["r-0123456789"], "report/", store="groklab-runs")
    [PosixPath('report/plotly.min.js'), PosixPath('report/r-0123456789.html'),
     PosixPath('report/index.html')]
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np

from groklab.analysis.settings import best_val_text, run_differences, shared_settings, task_text
from groklab.errors import GroklabError
from groklab.files import write_atomic
from groklab.report.script import figures_html, write_plotly_js
from groklab.report.sections import RunView, curves_section, family_sections, note
from groklab.spec import MemberSpec
from groklab.store import RunStore

COMPARE_PAGE = "compare.html"
HEADLINE = ("seed", "train_fraction", "lr", "weight_decay")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1240px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin-top: 1.4em; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f4f4f4; } pre { background: #f7f7f7; padding: 1em; }
.note { color: #666; font-size: 0.9em; } .missing { color: #8a5a00; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 8px; }
.plot { min-height: 120px; }
"""
HOW_TO_READ = (
    "Drag across a plot to zoom (on the log step axis), double-click to reset; hover a point "
    "for its member, step and value; click a legend entry to hide its traces."
)


class _Figures:
    """The page's figures, each drawn into a <div> of its own id."""

    def __init__(self) -> None:
        self.figures: dict[str, dict] = {}

    def add(self, figure: dict) -> str:
        key = f"plot-{len(self.figures)}"
        self.figures[key] = figure
        return f'<div class="plot" id="{key}"></div>'


def _page(title: str, body: str, figures: dict[str, dict] | None = None) -> str:
    script = figures_html(figures) if figures else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n{script}\n</body></html>\n"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if not np.isfinite(value) else f"{value:.4g}"
        return html.escape("-" if value is None else str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _last(values: np.ndarray) -> float:
    """The last evaluated value of one member's curve [S]; nan if none."""
    seen = values[np.isfinite(values)]
    return float(seen[-1]) if seen.size else float("nan")


def _members_section(members: list[dict], curves: dict[str, np.ndarray]) -> str:
    defaults = asdict(MemberSpec())
    rows = [{**defaults, **m["spec"]} for m in members]
    columns = [
        name
        for name in defaults
        if name in HEADLINE or any(row[name] != defaults[name] for row in rows)
    ]
    summary = (
        "best val_acc",
        "final train_acc",
        "final val_acc",
        "steps to 99 % train",
        "steps to 99 % val",
    )
    table_rows = []
    for i, (member, row) in enumerate(zip(members, rows, strict=True)):
        val, train = curves["val_acc"][i], curves["train_acc"][i]
        best = float(np.nanmax(val)) if np.isfinite(val).any() else float("nan")
        table_rows.append(
            [member["member"], *(row[c] for c in columns), best, _last(train), _last(val)]
            + [member["steps_to_train_99"], member["steps_to_val_99"]]
        )
    return "<h2>Members</h2>" + _table(["member", *columns, *summary], table_rows)


def _plots(views: Sequence[RunView]) -> tuple[list[str], dict[str, dict]]:
    """The curves, per-parameter norms and measures sections of `views`, and their figures."""
    figs = _Figures()
    parts = ["<h2>Accuracy, loss and weight norm</h2>", note(HOW_TO_READ)]
    parts.append(curves_section(views, figs.add))
    norms, measures = family_sections(views, figs.add)
    if norms:
        parts += ["<h2>Per-parameter norms</h2>", norms]
    if measures:
        parts += ["<h2>Measures</h2>", note("Every stored measure, by family."), measures]
    return parts, figs.figures


def build_run_page(store: RunStore, run_id: str) -> str:
    """The HTML page of one run of `store` (a full id)."""
    view = RunView(store, run_id, 0, compare=False)
    if view.record is None:
        raise GroklabError(f"no run {run_id!r} in {store.root} (see `groklab runs`)")
    record, specs = view.record, [m["spec"] for m in view.members]
    parts = [
        f"<h1>Run {html.escape(run_id)}</h1>",
        note(
            f"{task_text(view.spec_dict)}; {shared_settings(specs)}; {record.n_members} "
            f"member(s); status {record.status} at step {record.step}; created "
            f"{record.created}, updated {record.updated}."
        ),
        "<h2>Spec</h2><details><summary>canonical spec (its hash is the run id)</summary>"
        f"<pre>{html.escape(json.dumps(view.spec_dict, indent=2))}</pre></details>",
        _members_section(view.members, view.curves),
    ]
    plots, figures = _plots([view])
    return _page(f"groklab run {run_id}", "\n".join(parts + plots), figures)


def _runs_table(views: Sequence[RunView], *, link: bool) -> str:
    differences = run_differences([v.spec_dict for v in views])
    header = ["run", "task", "settings", "differs", "members", "status", "step", "best val_acc"]
    rows = []
    for view, differs in zip(views, differences, strict=True):
        name = html.escape(view.run_id)
        rows.append(
            f'<tr><td><a href="{name}.html">{name}</a></td>' if link else f"<tr><td>{name}</td>"
        )
        cells = (
            task_text(view.spec_dict),
            shared_settings([m["spec"] for m in view.members]),
            differs or "-",
            view.record.n_members,
            view.record.status,
            view.record.step,
            best_val_text(view.curves["val_acc"]),
        )
        rows[-1] += "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def build_compare_page(store: RunStore, run_ids: Sequence[str]) -> str:
    """One page drawing the runs `run_ids` (full ids) together: a trace per member of each
    run, named `<run id>/<member>`."""
    views = [RunView(store, run_id, i, compare=True) for i, run_id in enumerate(run_ids)]
    parts = [
        f"<h1>{len(views)} runs compared</h1>",
        note("Each run links to its own page; 'differs' is what sets the runs apart."),
        _runs_table(views, link=True),
    ]
    plots, figures = _plots(views)
    return _page("groklab report: " + ", ".join(run_ids), "\n".join(parts + plots), figures)


def build_index_page(
    store: RunStore, run_ids: Sequence[str], *, compare_page: str | None = None
) -> str:
    """A page linking each run's page (and the comparison page, if there is one), with its
    task, members, status and best val_acc."""
    views = [RunView(store, run_id, i, compare=False) for i, run_id in enumerate(run_ids)]
    body = f"<h1>groklab report: {len(views)} run(s)</h1>"
    if compare_page is not None:
        body += f'<p><a href="{html.escape(compare_page)}">the runs compared on one page</a></p>'
    return _page("groklab report", body + _runs_table(views, link=True))


def write_report(
    runs: Sequence[str],
    out: str | Path,
    *,
    store: RunStore | str | Path,
    compare: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write `<out>/<run id>.html` for each run (a unique prefix will do), with `compare`
    `<out>/compare.html` drawing them together, `<out>/index.html` linking them, and
    `<out>/plotly.min.js`, which the pages share; `progress(path)` is called after each.
    Every run is resolved before the first file is written, so a bad id (or `compare` with
    fewer than two runs) writes nothing. Returns the paths written, the index last."""
    if isinstance(store, RunStore):
        return _write(store, runs, Path(out), compare, progress)
    with RunStore(store) as opened:
        return _write(opened, runs, Path(out), compare, progress)


def _write(store: RunStore, runs: Sequence[str], out: Path, compare: bool, progress) -> list[Path]:
    if not runs:
        raise GroklabError("no run given; allowed: one or more run ids (or --all)")
    run_ids = list(dict.fromkeys(store.resolve(r) for r in runs))  # a bad id stops here
    if compare and len(run_ids) < 2:
        raise GroklabError(
            f"--compare needs two or more runs; given {len(run_ids)} ({', '.join(run_ids)})"
        )
    if out.exists() and not out.is_dir():
        raise GroklabError(f"--out {str(out)!r} is a file; give a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GroklabError(f"cannot create output directory {str(out)!r}: {e.strerror}") from None
    written = [write_plotly_js(out)]
    if progress is not None:
        progress(written[0])
    pages = [(f"{run_id}.html", partial(build_run_page, store, run_id)) for run_id in run_ids]
    if compare:
        pages.append((COMPARE_PAGE, partial(build_compare_page, store, run_ids)))
    index = partial(build_index_page, compare_page=COMPARE_PAGE if compare else None)
    pages.append(("index.html", partial(index, store, run_ids)))
    for name, build in pages:  # one at a time: progress shows while a long sweep is written
        text = build()
        write_atomic(out / name, lambda f, text=text: f.write(text))
        written.append(out / name)
        if progress is not None:
            progress(out / name)
    return written
