"""Tests for src/groklab/experiments/power2022_interventions.py (Power et al. 2022, Fig. 2
center/right) and the by-fraction line plot it draws (src/groklab/plots/by_fraction.py)."""

import csv

import numpy as np
import pytest
from matplotlib.figure import Figure

from groklab.analysis.curves import median_never_last
from groklab.experiments.power2022_interventions import INTERVENTIONS, SIZES, point_spec
from groklab.plots.by_fraction import plot_by_fraction
from groklab.sweep.grid import pack_members


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("power2022-interventions")


def csv_rows(result) -> list[dict]:
    with open(next(p for p in result.paths if p.suffix == ".csv")) as f:
        return list(csv.DictReader(f))


def test_micro_interventions_write_figure_csv_and_markdown(micro):
    assert sorted(p.name for p in micro.first.paths) == [
        "interventions.csv",
        "interventions.md",
        "interventions.png",
    ]
    assert micro.is_png("interventions.png")


def test_micro_interventions_markdown_says_what_was_shrunk(micro):
    first = micro.first
    text = micro.path("interventions.md").read_text()
    assert first.shrunk and f"**Shrunk from the paper:** {first.shrunk}" in text
    for word in ("p = 7 (paper 97)", "budget 20 steps", "task add (paper div)", "2 seeds"):
        assert word in first.shrunk
    for name in SIZES["micro"].interventions:
        assert f"| {INTERVENTIONS[name].label} |" in first.table


def test_per_member_interventions_share_one_population_per_optimizer_and_batch(micro):
    first, trained_first = micro.first, micro.trained_first
    run_of = {}
    for row in csv_rows(first):
        run_of.setdefault(row["intervention"], set()).add(row["run_id"])
    assert all(len(ids) == 1 for ids in run_of.values())  # every fraction and seed together
    assert run_of["adam"] == run_of["dropout"]  # dropout is a member field: same population
    assert len({*run_of["wd_origin"], *run_of["adam"], *run_of["full_batch"]}) == 3
    assert len(trained_first) == 3


def test_micro_interventions_run_twice_train_nothing_the_second_time(micro):
    first, second = micro.first, micro.second
    trained_first, trained_all = micro.trained_first, micro.trained_all
    assert trained_all == trained_first
    assert second.table == first.table


def test_csv_rows_say_what_each_member_ran(micro):
    first = micro.first
    rows = {(r["intervention"], r["train_fraction"], r["seed"]): r for r in csv_rows(first)}
    assert len(rows) == 4 * 2 * 2
    assert rows[("dropout", "0.5", "0")]["dropout"] == "0.1"
    assert rows[("full_batch", "0.8", "1")]["batch_size"] == "full"
    assert rows[("adam", "0.5", "1")]["optimizer"] == "adam"
    assert rows[("wd_origin", "0.5", "0")]["weight_decay"] == "1.0"


def test_point_specs_apply_each_intervention_to_the_size():
    size = SIZES["quick"]
    spec = {name: point_spec(size, iv, 0.5, 3) for name, iv in INTERVENTIONS.items()}
    assert spec["wd_origin"].optim.decay_to == "origin"
    assert spec["wd_init"].optim.decay_to == "init"
    assert spec["adam_l2"].optim.optimizer == "adam_l2"
    assert spec["lr_high"].members[0].lr == pytest.approx(3 * size.lr)
    assert spec["full_batch"].train.batch_size == "full"
    assert spec["grad_noise"].members[0].grad_noise > 0
    assert spec["grad_noise"].members[0].weight_decay == 0.0
    assert all(s.members[0].seed == 3 and s.members[0].train_fraction == 0.5 for s in spec.values())


def test_quick_size_packs_eleven_interventions_into_five_populations():
    size = SIZES["quick"]
    points = [
        point_spec(size, INTERVENTIONS[n], f, s)
        for n in size.interventions
        for f in size.fractions
        for s in size.seeds
    ]
    populations, _ = pack_members(points)
    assert len(size.interventions) == 11 and len(populations) == 5
    assert sorted(p.n_members for p in populations) == [8, 8, 8, 24, 40]


def test_by_fraction_plot_draws_medians_and_marks_never_reached():
    ax = Figure().subplots()
    steps = np.array([[np.nan, np.nan], [300.0, np.nan], [100.0, 200.0]])  # [F, S]
    plot_by_fraction(ax, np.array([0.3, 0.5, 0.7]), {"AdamW": steps}, ylabel="steps", log=True)
    line, never = ax.get_lines()
    assert line.get_label() == "AdamW"
    np.testing.assert_allclose(line.get_xdata(), [0.7])  # 0.3 and 0.5: median is never
    np.testing.assert_allclose(never.get_xdata(), [0.3, 0.5])
    assert never.get_marker() == "x"
    np.testing.assert_array_equal(median_never_last(steps), [np.inf, np.inf, 150.0])
