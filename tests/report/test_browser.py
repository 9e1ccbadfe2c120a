"""The report in a real browser: headless Chromium opens each page with no console error, and
the screenshot shows the curves. Skipped where Chromium is absent (CI installs it)."""

import io

import numpy as np
import pytest
from matplotlib.image import imread

from groklab.plots.style import TRAIN_COLOR, VAL_COLOR

from .chromium import find_chromium, open_pages
from .conftest import SPEC

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian/Ubuntu: apt-get install -y chromium); "
    "the report's browser test needs it",
)


def pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png))[..., :3]  # [H, W, RGB] in 0..1


def near(image: np.ndarray, color: str, tol: float = 0.12) -> int:
    """How many pixels are within `tol` of `color` ('#rrggbb') in every channel."""
    rgb = np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image - rgb) < tol).all(axis=-1).sum())


@needs_chromium
def test_report_pages_open_without_console_errors_and_the_screenshot_shows_the_curves(
    report_dir,
):
    out, _, _ = report_dir
    page, index = open_pages(CHROMIUM, [out / f"{SPEC.run_id}.html", out / "index.html"])
    assert page.errors == [] and index.errors == []
    assert {i["alt"] for i in page.images} == {"curves", "norms", "measures", "Fourier"}
    assert all(i["loaded"] for i in page.images)  # the browser decoded every inline PNG
    shot = pixels(page.screenshot)
    assert shot.shape[0] > 1500 and shot.std() > 0.05  # a long page, not one flat color
    curves = next(i for i in page.images if i["alt"] == "curves")
    assert curves["width"] > 500 and curves["height"] > 150
    y, x = int(curves["y"]), int(curves["x"])
    region = shot[y : y + int(curves["height"]), x : x + int(curves["width"])]
    non_white = (region < 0.95).any(axis=-1).mean()
    assert 0.02 < non_white < 0.6, non_white  # axes, labels and lines, on white
    # the train (blue) and validation (red) lines are drawn, in the plots' own colors
    assert near(region, TRAIN_COLOR) > 300 and near(region, VAL_COLOR) > 300
    assert near(shot[:y], VAL_COLOR) < 50  # ... and red is the curves', not elsewhere above


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
