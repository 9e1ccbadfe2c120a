"""What a page draws, read from the store: the curves, and every stored measure grouped by its
family (`groklab.measures.FAMILIES`), for one run or several compared.

Nothing is computed here: a value the store lacks is not recomputed. Where a registered measure
applies to a run but is not stored, the family's section names the `groklab measure` command
that adds it. Values are drawn in panels: a name `<prefix>/<key>` that shares its prefix with
others (`eff_rank/W_E`, `eff_rank/W_U`; `fourier/embed/0..p//2`) is one trace per key and member
in the panel `<prefix>`; any other name is a panel of its own, a trace per member.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from groklab.config import spec_from_dict
from groklab.measures import FAMILIES, MEASURES, MeasureInfo, measure_of
from groklab.measures.llc import TRACE_PREFIX
from groklab.measures.s5_irreps import IRREP_NAMES, IRREPS
from groklab.report import figures
from groklab.report.figures import Series
from groklab.report.fourier import HEATMAP_MEASURES, basis_text
from groklab.spec import RunSpec
from groklab.store import RunStore
from groklab.store.db import METRICS, NORM_PREFIX

NORMS, OTHER = "norms", "other"  # the report's own families: parameter norms, unregistered names
MAX_HEATMAP_MEMBERS = 16
SETTINGS = {name for info in MEASURES.values() for name in info.settings}  # how, not what


def _drawn(name: str) -> bool:
    """A stored name with a panel of its own: not a setting, not one block of an llc trace
    (those are read with `groklab curves RUN --measures llc_trace/`)."""
    return name not in SETTINGS and not name.startswith(TRACE_PREFIX)


AddFigure = Callable[[dict], str]  # a figure -> the <div> it is drawn into


@dataclass
class RunView:
    """One run as the store holds it, and its place on the page."""

    store: RunStore
    run_id: str
    position: int  # 0, 1, ... on a comparison page
    compare: bool

    @cached_property
    def record(self):
        return self.store.get_run(self.run_id)

    @cached_property
    def spec_dict(self) -> dict:
        return json.loads(self.record.spec_json)

    @cached_property
    def spec(self) -> RunSpec:
        return spec_from_dict(self.spec_dict)

    @cached_property
    def members(self) -> list[dict]:
        return self.store.read_members(self.run_id)

    @cached_property
    def curves(self) -> dict[str, np.ndarray]:
        return self.store.read_curves(self.run_id)

    @cached_property
    def names(self) -> list[str]:
        """Every stored name but the metrics, sorted."""
        return [n for n in self.store.measure_names(self.run_id) if n not in METRICS]

    def label(self, member: int) -> str:
        return f"{self.run_id}/{member}" if self.compare else f"member {member}"

    def series(self, member: int, steps: np.ndarray, values: np.ndarray) -> Series:
        return Series(self.label(member), self.position, steps, values)


def family_of(name: str) -> str:
    info = measure_of(name)
    if info is not None:
        return info.family
    return NORMS if name.startswith(NORM_PREFIX) else OTHER


def _key_order(key: str) -> tuple:
    """Frequencies by number, S5's irreps by dimension, anything else by name."""
    if key.isdigit():
        return (0, int(key), "")
    return (1, IRREP_NAMES.index(key), "") if key in IRREP_NAMES else (2, 0, key)


def panels(names: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """{family: {panel title: [names]}}: names sharing a prefix before their last "/" make one
    panel; a name alone under its prefix is a panel titled by its full name."""
    by_prefix: dict[str, list[str]] = {}
    for name in names:
        by_prefix.setdefault(name.rpartition("/")[0] or name, []).append(name)
    out: dict[str, dict[str, list[str]]] = {}
    for prefix, group in by_prefix.items():
        title = prefix if len(group) > 1 else group[0]
        group = sorted(group, key=lambda n: _key_order(n.rpartition("/")[2]))
        out.setdefault(family_of(group[0]), {})[title] = group
    return out


def curves_section(views: Sequence[RunView], add: AddFigure) -> str:
    """Accuracy, loss and weight norm: a trace per member (of each run) and metric."""
    if not any(view.curves["step"].size for view in views):
        return note("no evaluation recorded yet.")
    members = []
    for view in views:
        steps = view.curves["step"]
        for m in range(view.record.n_members):
            members.append({k: view.series(m, steps, view.curves[k][m]) for k in METRICS})
    return grid(add(fig) for fig in figures.curves_figures(members, compare=len(views) > 1))


def panel_figure(views: Sequence[RunView], title: str, names: Sequence[str]) -> tuple[dict, str]:
    """The panel of `names` over the runs that stored them, and a note of what it leaves out."""
    keyed = len(names) > 1
    holders = [v for v in views if any(n in v.names for n in names)]
    per_run = max(1, figures.MAX_SERIES // len(holders)) if keyed else None
    series, keys, cut = [], [], []
    for view in holders:
        stored = [n for n in names if n in view.names]
        values = view.store.read_measures(view.run_id, stored)
        shown = range(view.record.n_members)[:per_run]
        if len(shown) < view.record.n_members:
            cut.append(f"the first {len(shown)} of {view.record.n_members} members")
        for member in shown:
            for name in stored:
                series.append(view.series(member, values["step"], values[name][member]))
                keys.append(name.rpartition("/")[2])
    fig = figures.lines_figure(title, series, keys=keys if keyed else ())
    return fig, (f"{title}: " + "; ".join(dict.fromkeys(cut)) + ".") if cut else ""


def missing(view: RunView, family: str) -> list[MeasureInfo]:
    """The registered measures of `family` that apply to the run and that it has not stored."""
    return [
        info
        for info in MEASURES.values()
        if info.family == family
        and info.applies(view.spec)
        and not any(info.has_value(n) for n in view.names)
    ]


def missing_note(views: Sequence[RunView], family: str) -> str:
    parts = []
    for view in views:
        absent = [info.name for info in missing(view, family)]
        if absent:
            command = f"groklab measure {view.run_id} --measures {','.join(absent)}"
            parts.append(
                f"{html.escape(view.run_id)} has not stored {html.escape(', '.join(absent))}: "
                f"<code>{html.escape(command)}</code> adds "
                f"{'it' if len(absent) == 1 else 'them'}"
            )
    if not parts:
        return ""
    return (
        '<p class="note missing">Not stored, so not drawn (the report computes nothing): '
        + "; ".join(parts)
        + " (at every kept checkpoint and the latest state; add <code>--store</code> as for "
        "this report).</p>"
    )


def settings_note(views: Sequence[RunView], family: str) -> str:
    """The settings a family's measures were made with (the llc's sampler), as each run stored
    them with its latest value; they are text, not plots."""
    parts = []
    for view in views:
        names = [n for n in view.names if n in SETTINGS and family_of(n) == family]
        if names:
            latest = view.store.read_measures(view.run_id, names)
            values = [f"{n} {_last(latest[n][0]):g}" for n in names]  # member 0's
            parts.append(f"{view.run_id} at step {int(latest['step'][-1])}: {', '.join(values)}")
    text = "Made with " + "; ".join(parts) + "." if parts else ""
    traced = [v.run_id for v in views if any(n.startswith(TRACE_PREFIX) for n in v.names)]
    if traced and family == "llc":
        text += (
            f" Each chain's trace in block means ({', '.join(traced)}): groklab curves RUN "
            f"--measures {TRACE_PREFIX}"
        )
    return note(text.strip()) if text else ""


def _last(values: np.ndarray) -> float:
    seen = values[np.isfinite(values)]
    return float(seen[-1]) if seen.size else float("nan")


def family_sections(views: Sequence[RunView], add: AddFigure) -> tuple[str, str]:
    """(the per-parameter norms' panels, the measures' sections by family)."""
    grouped = panels(sorted({n for v in views for n in v.names if _drawn(n)}))
    norms = _panels_html(views, grouped.get(NORMS, {}), add)
    parts = []
    for family, heading in [*FAMILIES.items(), (OTHER, "Other stored measures")]:
        body = missing_note(views, family) if family != OTHER else ""
        if family == "fourier":
            body += "".join(heatmap(view, add) for view in views)
        body += _panels_html(views, grouped.get(family, {}), add) + settings_note(views, family)
        if body:
            parts.append(f"<h3>{html.escape(heading)}</h3>{body}")
    return norms, "\n".join(parts)


def _panels_html(views, titled: dict[str, list[str]], add: AddFigure) -> str:
    if not titled:
        return ""
    divs, notes = [], []
    for title, names in titled.items():
        fig, cut = panel_figure(views, title, names)
        divs.append(add(fig))
        notes += [cut] if cut else []
    return grid(divs) + (note(" ".join(notes)) if notes else "")


def stored_embedding_norms(view: RunView) -> tuple[MeasureInfo, np.ndarray, list[str], int] | None:
    """The measure of HEATMAP_MEASURES that applies to the run, [M, K] each member's W_E norm
    per frequency (or irrep: the square root of the stored energy) at the latest step the run
    stored them, the K column names and that step; None where nothing applies or is stored."""
    info = next((MEASURES[n] for n in HEATMAP_MEASURES if MEASURES[n].applies(view.spec)), None)
    prefix = info.stores[0] if info is not None else None
    keys = sorted(
        (n.removeprefix(prefix) for n in view.names if prefix and n.startswith(prefix)),
        key=_key_order,
    )
    if not keys:
        return None
    values = view.store.read_measures(view.run_id, [prefix + k for k in keys])
    stacked = np.stack([values[prefix + k] for k in keys], axis=-1)  # [M, S, K]
    seen = np.flatnonzero(np.isfinite(stacked).any(axis=(0, 2)))  # steps with a value
    if not seen.size:
        return None
    last = int(seen[-1])
    norms, step = stacked[:, last], int(values["step"][last])  # [M, K]
    if info.name == "fourier_embed_s5":  # stored: each irrep's energy; drawn: its norm
        return info, np.sqrt(norms), [f"{k} ({IRREPS[k].shape[1]})" for k in keys], step
    return info, norms, keys, step


def heatmap(view: RunView, add: AddFigure) -> str:
    """The heat map of `stored_embedding_norms`, members by rows, with what its basis is."""
    found = stored_embedding_norms(view)
    if found is None:
        return ""
    info, norms, keys, step = found
    s5 = info.name == "fourier_embed_s5"
    shown = list(range(min(view.record.n_members, MAX_HEATMAP_MEMBERS)))
    text = f"{basis_text(view.spec, step)} Read from the stored {info.stores[0]}* values."
    if len(shown) < view.record.n_members:
        text += f" The first {len(shown)} of {view.record.n_members} members."
    fig = figures.heatmap_figure(
        f"{view.run_id}: W_E by {'irrep' if s5 else 'frequency'} at step {step}",
        norms[shown],
        rows=[view.label(m) for m in shown],
        columns=keys,
        x_title="irreducible representation (dimension)" if s5 else "frequency k (0 = constant)",
        value="norm of W_E",
    )
    return note(text) + add(fig)


def grid(divs) -> str:
    return '<div class="plots">' + "".join(divs) + "</div>"


def note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'
