"""`groklab report`: one self-contained HTML page per run, and an index page linking them.

A run's page holds its spec, each member's hyper-parameters and summary, the accuracy and
loss curves (log step axis) with the weight norm, each parameter's norm (`norm/<name>`), every
other stored measure, and for an operation table the embedding's Fourier norms of each
member's latest weights in its group's basis (Z_p, Z_p^* for x*y and x/y, or S5's irreducible
representations for the S5 operations). Figures are inline PNGs (`figures.py` says why), so
a page is one file that opens offline; it has no script.

    >>> write_report(["r-0123456789"], "report/", store="groklab-runs")
    [PosixPath('report/r-0123456789.html'), PosixPath('report/index.html')]
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np

from groklab.analysis.settings import shared_settings, task_text
from groklab.config import spec_from_dict
from groklab.data import s5
from groklab.errors import GroklabError
from groklab.files import write_atomic
from groklab.report import figures
from groklab.report.fourier import basis_text, embedding_fourier_norms
from groklab.spec import MemberSpec, RunSpec
from groklab.store import RunStore
from groklab.store.db import METRICS, NORM_PREFIX

MAX_FOURIER_MEMBERS = 16  # members loaded for the heat map (each is a checkpoint read)
HEADLINE = ("seed", "train_fraction", "lr", "weight_decay")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1180px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f4f4f4; } img { max-width: 100%; } pre { background: #f7f7f7; padding: 1em; }
.note { color: #666; font-size: 0.9em; }
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if not np.isfinite(value) else f"{value:.4g}"
        return html.escape("-" if value is None else str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(fig, alt: str) -> str:
    return f'<p><img src="{figures.png_data_uri(fig)}" alt="{html.escape(alt)}"></p>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


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


def member_fourier_norms(
    store: RunStore, run_id: str, members: Sequence[int]
) -> tuple[np.ndarray | None, int]:
    """[len(members), n // 2 + 1] Fourier norms of each member's W_E rows at the latest state,
    in the basis of the operation's group (measures/groups.py: the values 0..p-1 of Z_p, or
    for x * y and x / y the n = p - 1 nonzero ones by discrete log), and that step; for an S5
    operation [len(members), 7], the norm of W_E's 120 element rows on each irreducible
    representation of S5 (measures/s5_irreps.py, sqrt of `fourier_s5/embed/<irrep>`); None if
    the model has no W_E."""
    from groklab import loader
    from groklab.data.ops import OPS
    from groklab.measures.groups import group_of
    from groklab.measures.s5_irreps import irrep_energies

    rows, step = [], -1
    for member in members:
        model, task = loader.load(run_id, member, store=store)
        w_e = getattr(model, "W_E", None)
        if w_e is None:
            return None, task.step
        data = task.spec.data
        if OPS[data.op].is_group:
            rows.append(np.sqrt(irrep_energies(w_e.detach()[: s5.ORDER].double().numpy())))
        else:
            values = group_of(data.op, data.p).values
            rows.append(embedding_fourier_norms(w_e.detach()[values].double().numpy()))
        step = task.step
    return np.stack(rows), step


def _fourier_section(store: RunStore, run_id: str, spec: RunSpec) -> str:
    from groklab.data.ops import OPS
    from groklab.measures.s5_irreps import IRREP_NAMES, IRREPS

    if spec.data.dataset != "table":
        return ""
    head = "<h2>Embedding Fourier norms</h2>"
    n_members = spec.n_members
    if not store.checkpoint_path(run_id).exists():
        return head + _note("the run has no checkpoint yet: nothing to read W_E from.")
    shown = list(range(min(n_members, MAX_FOURIER_MEMBERS)))
    norms, step = member_fourier_norms(store, run_id, shown)
    if norms is None:
        return head + _note("this model has no learned embedding W_E to read.")
    text = basis_text(spec, step)
    if n_members > len(shown):
        text += f" The first {len(shown)} of {n_members} members."
    labels = None
    if OPS[spec.data.op].is_group:
        labels = [f"{name}\n({IRREPS[name].shape[1]})" for name in IRREP_NAMES]
    figure = figures.fourier_figure(norms, shown, labels=labels)
    return head + _note(text) + _figure(figure, "Fourier")


def build_run_page(store: RunStore, run_id: str) -> str:
    """The HTML page of one run of `store` (a full id)."""
    record = store.get_run(run_id)
    if record is None:
        raise GroklabError(f"no run {run_id!r} in {store.root} (see `groklab runs`)")
    spec = json.loads(record.spec_json)
    members = store.read_members(run_id)
    member_specs = [m["spec"] for m in members]
    curves = store.read_curves(run_id)
    names = store.measure_names(run_id)
    parts = [
        f"<h1>Run {html.escape(run_id)}</h1>",
        _note(
            f"{task_text(spec)}; {shared_settings(member_specs)}; {record.n_members} member(s); "
            f"status {record.status} at step {record.step}; created {record.created}, "
            f"updated {record.updated}."
        ),
        "<h2>Spec</h2><details><summary>canonical spec (its hash is the run id)</summary>"
        f"<pre>{html.escape(json.dumps(spec, indent=2))}</pre></details>",
        _members_section(members, curves),
        "<h2>Accuracy, loss and weight norm</h2>",
    ]
    if curves["step"].size:
        parts.append(_figure(figures.curves_figure(curves, member_specs), "curves"))
    else:
        parts.append(_note("no evaluation recorded yet."))
    if any(n.startswith(NORM_PREFIX) for n in names):
        parts.append("<h2>Per-parameter norms</h2>")
        if record.n_members > figures.MAX_MEMBER_PANELS:
            parts.append(_note(f"the first {figures.MAX_MEMBER_PANELS} members"))
        parts.append(_figure(figures.layer_norms_figure(store.read_layer_norms(run_id)), "norms"))
    others = [n for n in names if n not in METRICS and not n.startswith(NORM_PREFIX)]
    if others:
        parts.append("<h2>Measures</h2>" + _note(", ".join(others)))
        parts.append(
            _figure(figures.measures_figure(store.read_measures(run_id, others)), "measures")
        )
    parts.append(_fourier_section(store, run_id, spec_from_dict(spec)))
    return _page(f"groklab run {run_id}", "\n".join(parts))


def build_index_page(store: RunStore, run_ids: Sequence[str]) -> str:
    """A page linking each run's page, with its task, members, status and best val_acc."""
    from groklab.analysis.settings import best_val_text

    rows = []
    for run_id in run_ids:
        record = store.get_run(run_id)
        spec = json.loads(record.spec_json)
        specs = [m["spec"] for m in store.read_members(run_id)]
        best = best_val_text(store.read_curves(run_id)["val_acc"])
        rows.append(
            (
                run_id,
                task_text(spec),
                shared_settings(specs),
                record.n_members,
                record.status,
                record.step,
                best,
            )
        )
    links = "".join(
        f'<tr><td><a href="{html.escape(r[0])}.html">{html.escape(r[0])}</a></td>'
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in r[1:])
        + "</tr>"
        for r in rows
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("run", "task", "settings", "members", "status", "step", "best val_acc")
    )
    body = f"<h1>groklab report: {len(rows)} run(s)</h1><table><tr>{header}</tr>{links}</table>"
    return _page("groklab report", body)


def write_report(
    runs: Sequence[str],
    out: str | Path,
    *,
    store: RunStore | str | Path,
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write `<out>/<run id>.html` for each run (a unique prefix will do) and `<out>/index.html`
    linking them, calling `progress(path)` after each. Every run is resolved before the first
    file is written, so a bad id writes nothing. Returns the paths written, the index last."""
    if isinstance(store, RunStore):
        return _write(store, runs, Path(out), progress)
    with RunStore(store) as opened:
        return _write(opened, runs, Path(out), progress)


def _write(store: RunStore, runs: Sequence[str], out: Path, progress) -> list[Path]:
    if not runs:
        raise GroklabError("no run given; allowed: one or more run ids (or --all)")
    run_ids = list(dict.fromkeys(store.resolve(r) for r in runs))  # a bad id stops here
    if out.exists() and not out.is_dir():
        raise GroklabError(f"--out {str(out)!r} is a file; give a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GroklabError(f"cannot create output directory {str(out)!r}: {e.strerror}") from None
    written = []
    pages = [(f"{run_id}.html", partial(build_run_page, store, run_id)) for run_id in run_ids]
    pages.append(("index.html", partial(build_index_page, store, run_ids)))
    for name, build in pages:  # one at a time: progress shows while a long sweep is written
        text = build()
        write_atomic(out / name, lambda f, text=text: f.write(text))
        written.append(out / name)
        if progress is not None:
            progress(out / name)
    return written
