"""The pages' one script: plotly.js, copied once into the report folder from the installed
plotly package, and the few lines that hand each page's figures to it.

A page names the script by a relative path (`plotly.min.js` beside it), so the folder opens
offline from disk and a sweep's pages share one copy (about 5 MB) instead of inlining it in
each. The figures travel as JSON in a `<script type="application/json">` element; where the
script did not load, each plot's place says so.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from groklab.files import write_atomic

PLOTLY_JS = "plotly.min.js"  # the file beside the pages
CONFIG = {  # a short tool bar, clear of the title: zoom, pan, autoscale, reset, save as PNG
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d"],
}
RENDER = """
const figures = JSON.parse(document.getElementById("figures").textContent);
for (const [id, figure] of Object.entries(figures)) {
  const place = document.getElementById(id);
  if (window.Plotly) Plotly.newPlot(place, figure.data, figure.layout, CONFIG);
  else place.textContent = "The plot needs PLOTLY_JS beside this page (groklab report writes it).";
}
"""


def plotly_js() -> bytes:
    """plotly.js as the installed plotly package ships it (minified)."""
    return (resources.files("plotly") / "package_data" / PLOTLY_JS).read_bytes()


def write_plotly_js(out: Path) -> Path:
    """`out/plotly.min.js`, written unless an identical copy is there already."""
    path = out / PLOTLY_JS
    script = plotly_js()
    if not (path.is_file() and path.stat().st_size == len(script) and path.read_bytes() == script):
        write_atomic(path, lambda f: f.write(script), binary=True)
    return path


def figures_html(figures: dict[str, dict]) -> str:
    """The script elements that draw `figures` ({element id: plotly figure}) into the page's
    <div> of each id: plotly.js, the figures as JSON, and the loop."""
    data = json.dumps(figures, allow_nan=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c")  # no "</script>" inside the element, still valid JSON
    render = RENDER.replace("CONFIG", json.dumps(CONFIG)).replace("PLOTLY_JS", PLOTLY_JS)
    return (
        f'<script src="{html.escape(PLOTLY_JS)}"></script>\n'
        f'<script type="application/json" id="figures">{data}</script>\n'
        f"<script>{render}</script>"
    )
