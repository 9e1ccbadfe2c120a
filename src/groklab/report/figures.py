"""The report's figures as plotly figures: plain dicts of traces and a layout, which the page
hands to plotly.js (shipped once beside the pages, `script.py`), so every plot zooms (drag; a
double click resets) and shows each point's values on hover.

Steps are drawn at step + 1 on a log axis (step 0 has no place on a log axis), and each point's
hover says its real step. One trace is one member's series (one member of one run under
`--compare`), named by the member (`member 0`, or `r-0123456789/0` across runs).

    >>> series = Series("member 0", 0, np.array([0, 10, 100]), np.array([0.1, 0.5, 1.0]))
    >>> fig = lines_figure("val_acc", [series])
    >>> fig["data"][0]["x"], fig["layout"]["xaxis"]["type"]
    ([1, 11, 101], 'log')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from groklab.plots.curves import GROUP_COLORS
from groklab.plots.style import TRAIN_COLOR, VAL_COLOR, WEIGHT_NORM_COLOR

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MAX_SERIES = len(DASHES)  # members (of all runs) drawn in a panel of several values each
DIGITS = 6  # significant digits a value keeps on the page (the page stays small)
STEP_AXIS = "step + 1 (log scale)"


@dataclass(frozen=True)
class Series:
    """One member's values of one quantity against step."""

    label: str  # "member 0", or "r-0123456789/0" when several runs share a page
    run: int  # the position of its run on the page (its colour under --compare)
    steps: np.ndarray  # [S] int
    values: np.ndarray  # [S] float, nan where not recorded


def numbers(values: np.ndarray) -> list[float | None]:
    """Values rounded to DIGITS significant digits; None (JSON null) where not finite."""
    return [float(f"{v:.{DIGITS}g}") if np.isfinite(v) else None for v in values.tolist()]


def _trace(series: Series, quantity: str, **style) -> dict:
    seen = np.isfinite(series.values)  # a measure may be taken at fewer steps than others
    steps = np.asarray(series.steps)[seen].astype(np.int64)
    return {
        "type": "scatter",
        "x": (steps + 1).tolist(),
        "y": numbers(series.values[seen]),
        "customdata": steps.tolist(),
        "name": series.label,
        "hovertemplate": f"{series.label}<br>step %{{customdata}}<br>{quantity} %{{y:.4g}}"
        "<extra></extra>",
        **style,
    }


def layout(title: str, *, y_title: str = "", log_y: bool = False, height: int = 320) -> dict:
    return {
        "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
        "height": height,
        "margin": {"l": 55, "r": 10, "t": 36, "b": 42},
        "xaxis": {"type": "log", "title": {"text": STEP_AXIS, "font": {"size": 11}}},
        "yaxis": {"type": "log" if log_y else "linear", "title": {"text": y_title}},
        "hovermode": "closest",
        "legend": {"font": {"size": 10}},
        "showlegend": True,
    }


def run_color(run: int) -> str:
    return GROUP_COLORS[run % len(GROUP_COLORS)]


def curves_figures(curves: Sequence[dict[str, Series]], *, compare: bool) -> list[dict]:
    """The figures of accuracy, loss and weight norm; `curves` holds each member's
    {metric: Series}. One run: train blue, validation red, as `groklab plot`; several: each
    run its own colour, train dashed and validation solid."""
    panels = [
        ("accuracy", ("train_acc", "val_acc"), False),
        ("loss", ("train_loss", "val_loss"), True),
        ("weight norm", ("weight_norm",), False),
    ]
    colors = {"train_acc": TRAIN_COLOR, "val_acc": VAL_COLOR, "weight_norm": WEIGHT_NORM_COLOR}
    colors |= {"train_loss": TRAIN_COLOR, "val_loss": VAL_COLOR}
    out = []
    for title, metrics, log_y in panels:
        data, shown = [], set()
        for member in curves:
            for metric in metrics:
                series = member[metric]
                group = f"{series.label.split('/')[0]} {metric}" if compare else metric
                color = run_color(series.run) if compare else colors[metric]
                dash = "dash" if metric.startswith("train") else "solid"
                data.append(
                    _trace(
                        series,
                        metric,
                        mode="lines",
                        line={"color": color, "dash": dash, "width": 1.4},
                        legendgroup=group,
                        showlegend=group not in shown,
                    )
                )
                data[-1]["name"] = group  # the legend toggles a run's (or a metric's) members
                shown.add(group)
        out.append({"data": data, "layout": layout(title, y_title=title, log_y=log_y)})
    return out


def lines_figure(title: str, series: Sequence[Series], *, keys: Sequence[str] = ()) -> dict:
    """One panel: a trace per series. With `keys` (one per series: the parameter, frequency or
    irrep of a value named `<title>/<key>`), each key has a colour and each member a dash."""
    data = []
    if not keys:
        for s in series:
            data.append(_trace(s, title, mode="lines+markers", marker={"size": 4}))
        return {"data": data, "layout": layout(title)}
    colors = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    members = {label: i for i, label in enumerate(dict.fromkeys(s.label for s in series))}
    for s, key in zip(series, keys, strict=True):
        labelled = Series(f"{s.label} {key}", s.run, s.steps, s.values)
        color = GROUP_COLORS[colors[key] % len(GROUP_COLORS)]
        dash = DASHES[members[s.label] % len(DASHES)]  # members apart by dash, on hover by name
        trace = _trace(
            labelled,
            f"{title}/{key}",
            mode="lines+markers",
            marker={"size": 4},
            line={"color": color, "dash": dash},
            legendgroup=key,
            showlegend=members[s.label] == 0,
        )
        data.append({**trace, "name": key})  # the legend: one entry per key, for all members
    return {"data": data, "layout": layout(title)}


def heatmap_figure(
    title: str,
    z: np.ndarray,
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    x_title: str,
    value: str,
) -> dict:
    """A heat map of z [rows, columns] (members x frequencies or irreps), its values on hover."""
    trace = {
        "type": "heatmap",
        "z": [numbers(row) for row in np.asarray(z, dtype=np.float64)],
        "x": list(columns),
        "y": list(rows),
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": value}},
        "hovertemplate": f"%{{y}}<br>%{{x}}<br>{value} %{{z:.4g}}<extra></extra>",
    }
    height = 140 + 22 * len(rows)
    return {
        "data": [trace],
        "layout": {
            "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
            "height": height,
            "margin": {"l": 110, "r": 10, "t": 36, "b": 50},
            "xaxis": {"type": "category", "title": {"text": x_title}},
            "yaxis": {"type": "category", "autorange": "reversed"},
        },
    }
