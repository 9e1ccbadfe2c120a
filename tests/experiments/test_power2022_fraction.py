"""Tests for src/groklab/experiments/power2022_fraction.py (Power et al. 2022, Fig. 1 center)."""

import csv

import pytest

from groklab.experiments import ExperimentContext, get_experiment
from groklab.experiments.power2022_fraction import SIZES, sweep_spec
from groklab.sweep import expand, pack

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def checkpoint_mtimes(store_root):
    return {p.name: p.stat().st_mtime_ns for p in (store_root / "checkpoints").iterdir()}


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """The micro size run twice on one store: (first result, second result, mtimes before,
    mtimes after)."""
    root = tmp_path_factory.mktemp("fraction")
    (root / "out").mkdir()
    ctx = ExperimentContext(size="micro", out_dir=root / "out", store_root=root / "store")
    experiment = get_experiment("power2022-fraction")
    first = experiment.run(ctx)
    mtimes = checkpoint_mtimes(root / "store")
    second = experiment.run(ctx)
    return first, second, mtimes, checkpoint_mtimes(root / "store")


def test_micro_writes_figure_runs_csv_summary_csv_and_markdown(micro):
    result = micro[0]
    names = sorted(p.name for p in result.paths)
    assert names == ["fraction.md", "fraction.png", "fraction_runs.csv", "fraction_summary.csv"]
    assert next(p for p in result.paths if p.suffix == ".png").read_bytes()[:8] == PNG_MAGIC
    runs = list(
        csv.DictReader(next(p for p in result.paths if p.name == "fraction_runs.csv").open())
    )
    assert [(float(r["train_fraction"]), int(r["seed"])) for r in runs] == [
        (0.3, 0),
        (0.3, 1),
        (0.6, 0),
        (0.6, 1),
    ]


def test_markdown_says_what_micro_shrank_and_counts_never_reached(micro):
    result = micro[0]
    text = next(p for p in result.paths if p.suffix == ".md").read_text()
    assert "Shrunk from the paper:" in text and result.shrunk in text
    assert "p = 7 (paper 97)" in result.shrunk and "budget 30 steps" in result.shrunk
    rows = [r["n_never"] for r in result.numbers["rows"]]
    for row, never in zip(result.numbers["rows"], rows, strict=True):
        assert f"| {row['train_fraction']:g} |" in text and f"{never}/2" in text


def test_second_run_trains_nothing(micro):
    first, second, before, after = micro
    assert len(before) == 1 and before == after  # one population, not rewritten
    assert second.table == first.table


def test_quick_packs_every_fraction_and_seed_into_one_population():
    sweep = sweep_spec(SIZES["quick"])
    (population,) = pack(expand(sweep), sweep.max_members)
    assert population.n_members == len(SIZES["quick"]["fractions"]) * 3
    assert population.train.batch_size == "full" and population.train.stop_at_val_acc == 0.99
    assert population.data.op == "div"


def test_paper_is_x_div_y_mod_97_with_at_least_3_seeds_and_a_1e5_budget():
    sweep = sweep_spec(SIZES["paper"])
    (population,) = pack(expand(sweep), sweep.max_members)
    assert (population.data.op, population.data.p, population.train.steps) == ("div", 97, 100_000)
    assert len({m.seed for m in population.members}) >= 3
    assert {m.train_fraction for m in population.members} >= {0.2, 0.5, 0.8}
