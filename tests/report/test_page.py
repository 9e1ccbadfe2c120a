import base64
import html
import io
import json
import re
from dataclasses import asdict

import numpy as np
import pytest
from matplotlib.image import imread

import groklab
from groklab.errors import GroklabError
from groklab.measures import MEASURES
from groklab.measures.s5_irreps import IRREP_NAMES
from groklab.report import build_run_page, write_report
from groklab.report.page import member_fourier_norms
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, canonical_json
from groklab.store import RunStore
from groklab.train import train

from .conftest import MEASURE, SPEC

IMAGE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')


def images(page: str) -> dict[str, np.ndarray]:
    """alt text -> decoded RGB(A) pixels of every inline PNG on the page."""
    return {alt: imread(io.BytesIO(base64.b64decode(data))) for data, alt in IMAGE.findall(page)}


def ink(pixels: np.ndarray) -> float:
    """Fraction of pixels that are not white."""
    return float((pixels[..., :3] < 0.95).any(axis=-1).mean())


def table_row(page: str, first_cell: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(first_cell)}</td>(.*?)</tr>", page).group(1)
    return re.findall(r"<td>(.*?)</td>", row)


def run_page(report_dir) -> str:
    return (report_dir[0] / f"{SPEC.run_id}.html").read_text()


def test_run_page_has_spec_members_curves_norms_measures_and_fourier_figures(report_dir):
    page = run_page(report_dir)
    assert f"<h1>Run {SPEC.run_id}</h1>" in page
    assert '"train_fraction": 0.7' in html.unescape(page)  # the canonical spec, in full
    for heading in (
        "Members",
        "Accuracy, loss and weight norm",
        "Per-parameter norms",
        "Measures",
        "Embedding Fourier norms",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert MEASURE in page
    figures = images(page)
    assert set(figures) == {"curves", "norms", "measures", "Fourier"}
    for alt, pixels in figures.items():
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100, alt
        assert ink(pixels) > 0.02, f"{alt} is blank"
    assert "<script" not in page and "http" not in page  # nothing to fetch: opens offline


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


def test_fourier_norms_are_each_loaded_members_embedding_in_the_fourier_basis(trained_store):
    p = SPEC.data.p
    with RunStore(trained_store) as store:
        norms, step = member_fourier_norms(store, SPEC.run_id, [0, 1])
    assert step == SPEC.train.steps and norms.shape == (2, p // 2 + 1)
    x = np.arange(p)
    for member in (0, 1):
        model, _ = groklab.load(SPEC.run_id, member, store=trained_store)
        w = model.W_E.detach().double().numpy()[:p]  # the values 0..p-1
        expected = [np.linalg.norm(w.sum(0)) / np.sqrt(p)]
        for k in range(1, p // 2 + 1):
            c, s = np.cos(2 * np.pi * k * x / p) @ w, np.sin(2 * np.pi * k * x / p) @ w
            expected.append(np.sqrt((c @ c + s @ s) * 2 / p))
        np.testing.assert_allclose(norms[member], expected, rtol=1e-10)


def test_report_writes_a_page_per_run_and_an_index_linking_them(report_dir):
    out, paths, seen = report_dir  # two names of one run: one page
    assert paths == [out / f"{SPEC.run_id}.html", out / "index.html"] == seen
    index = (out / "index.html").read_text()
    links = re.findall(r'<a href="([^"]+)">', index)
    assert links == [f"{SPEC.run_id}.html"] and all((out / link).is_file() for link in links)
    assert "add p=7" in index


def test_an_unknown_run_writes_nothing(trained_store, tmp_path):
    out = tmp_path / "report"
    with pytest.raises(GroklabError, match=r"no run matches 'r-nope'") as e:
        write_report([SPEC.run_id, "r-nope"], out, store=trained_store)
    assert "\n" not in str(e.value)
    assert not out.exists()


def test_a_run_not_yet_trained_says_so_instead_of_figures(tmp_path):
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
    assert "the run has no checkpoint yet" in page
    assert images(page) == {}
    assert json.loads(canonical_json(spec))["data"]["op"] == "s5_mul"


def test_an_s5_runs_heat_map_is_drawn_in_s5s_irreps_and_says_so(tmp_path):
    spec = RunSpec(
        data=DataSpec(op="s5_conj"),
        model=ModelSpec(n_layers=1, d_model=8, n_heads=2, d_mlp=16),
        train=TrainSpec(steps=2, eval_every=2),
        members=SPEC.members,
    )
    with RunStore(tmp_path) as store:
        train(spec, store)
        norms, step = member_fourier_norms(store, spec.run_id, [0, 1])
        page = build_run_page(store, spec.run_id)
    assert step == 2 and norms.shape == (2, 7)
    for member in (0, 1):
        model, task = groklab.load(spec.run_id, member, store=tmp_path)
        energies = MEASURES["fourier_embed_s5"].fn(model, task)
        expected = [energies[f"fourier_s5/embed/{name}"] for name in IRREP_NAMES]
        np.testing.assert_allclose(norms[member] ** 2, expected, rtol=1e-10)
    assert "basis of S5&#x27;s irreducible representations" in page
    assert "Fourier" in images(page)
