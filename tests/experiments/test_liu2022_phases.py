"""Tests for src/groklab/experiments/liu2022_phases.py (Liu et al. 2022 phase diagrams)."""

import csv
import math

import numpy as np
import pytest
import torch

from groklab.config import spec_from_json
from groklab.experiments.liu2022_phases import (
    SIZES,
    Grid,
    diagram,
    goldilocks_text,
    grid_text,
    rqi_medians_text,
    toy_points,
    transformer_points,
)
from groklab.loader import load
from groklab.measures.rqi import rqi
from groklab.store import RunStore
from groklab.sweep.run import SweepResult
from groklab.train import TrainResult
from groklab.train.state import init_state, make_task


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("liu2022-phases")


def plain_first_step(steps, acc, threshold=0.9):
    for s, a in zip(steps, acc, strict=True):
        if a >= threshold:  # nan compares False
            return float(s)
    return math.nan


def test_micro_writes_both_diagrams_a_csv_row_per_run_and_markdown(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == ["phases.csv", "phases.md", "phases.png"]
    assert micro.is_png("phases.png")
    rows = list(csv.DictReader(micro.path("phases.csv").open()))
    size = SIZES["micro"]
    expected = [("toy", lr, wd) for lr in size.toy.lrs for wd in size.toy.weight_decays]
    expected += [("transformer", lr, wd) for lr in size.transformer.lrs
                 for wd in size.transformer.weight_decays]  # fmt: skip
    assert [(r["panel"], float(r["lr"]), float(r["weight_decay"])) for r in rows] == expected
    assert "Shrunk from the paper:" in micro.path("phases.md").read_text()


def test_csv_steps_are_the_stored_curves_first_90_percent(micro):
    rows = list(csv.DictReader(micro.path("phases.csv").open()))
    store_root = micro.path("phases.csv").parent.parent / "store"
    with RunStore(store_root) as store:
        for row in rows:
            curves = store.read_curves(row["run_id"])
            m = int(row["member"])
            for key, metric in (
                ("steps_to_train_90", "train_acc"),
                ("steps_to_test_90", "val_acc"),
            ):
                got = float(row[key])
                want = plain_first_step(curves["step"], curves[metric][m])
                assert (math.isnan(got) and math.isnan(want)) or got == want


def toy_rows(micro) -> list[dict]:
    rows = list(csv.DictReader(micro.path("phases.csv").open()))
    return [r for r in rows if r["panel"] == "toy"]


def test_csv_rqi_is_each_toy_members_final_learned_representation(micro):
    rows = list(csv.DictReader(micro.path("phases.csv").open()))
    store_root = micro.path("phases.csv").parent.parent / "store"
    for row in rows:
        if row["panel"] == "transformer":
            assert math.isnan(float(row["rqi"]))  # no representation of symbols to score
            continue
        model, _ = load(row["run_id"], member=int(row["member"]), store=store_root)
        assert float(row["rqi"]) == float(rqi(model.representation.detach()))


def test_the_representation_learns_at_its_own_lr_whatever_the_decoders(micro):
    """Every toy member's representation moves in training, by about its own lr (1e-3) a step
    at most, though the decoder's lr reaches 1e-2 in half the cells."""
    store_root = micro.path("phases.csv").parent.parent / "store"
    size = SIZES["micro"]
    with RunStore(store_root) as store:
        for row in toy_rows(micro):
            spec = spec_from_json(store.get_run(row["run_id"]).spec_json)
            start = init_state(spec, make_task(spec, torch.device("cpu")), torch.device("cpu"))
            m, p = int(row["member"]), size.toy_p
            before = start.population.flat[m, :p]  # the representation's columns come first
            model, _ = load(row["run_id"], member=m, store=store)
            moved = (model.representation.detach()[:, 0] - before).abs()
            assert moved.min() > 0
            # an AdamW step moves a weight by about its lr (a little more where the gradient
            # shrinks, beta1 != beta2): 20 steps at 1e-3 stay far below the decoder's 1e-2
            assert moved.max() <= size.toy.steps * 1e-3 * 2


def test_each_panel_is_one_population_of_its_grid(micro):
    assert len(micro.trained_first) == 2
    assert micro.second.table == micro.first.table
    assert micro.trained_all == micro.trained_first  # the second run reuses the store


def fake_result(curves_by_member: list[tuple[list, list]], steps: list[int]) -> tuple:
    """A SweepResult of one population whose member k has (train_acc, val_acc) curves k."""
    train = np.array([c[0] for c in curves_by_member], dtype=float)
    val = np.array([c[1] for c in curves_by_member], dtype=float)
    curves = {"step": np.array(steps), "train_acc": train, "val_acc": val}
    n = len(curves_by_member)
    pop = TrainResult("r-0000000000", steps[-1], "done", curves, np.zeros(n), np.zeros(n))
    rows = [{"run_id": "r-0000000000", "member": k} for k in range(n)]
    return SweepResult(rows, [pop]), rows


def test_diagram_classifies_each_cell_from_its_own_member():
    steps = [0, 500, 1000, 3000]
    grid = Grid(lrs=(1e-3, 1e-2), weight_decays=(0.1, 1.0), steps=3000, eval_every=500)
    members = [
        ([0, 0.95, 1, 1], [0, 0.92, 1, 1]),  # lr 1e-3, wd 0.1: together -> comprehension
        ([0, 0.95, 1, 1], [0, 0.1, 0.2, 0.95]),  # wd 1: test 2,500 steps later -> grokking
        ([0, 1, 1, 1], [0, 0.1, 0.1, 0.1]),  # lr 1e-2, wd 0.1: memorization
        ([0, 0.2, 0.3, 0.5], [0, 0.1, 0.1, 0.1]),  # wd 1: confusion
    ]
    result, rows = fake_result(members, steps)
    d = diagram("toy", grid, result, rows)
    assert d.phases.tolist() == [["comprehension", "grokking"], ["memorization", "confusion"]]
    np.testing.assert_array_equal(d.train_steps, [[500, 500], [500, np.nan]])
    np.testing.assert_array_equal(d.test_steps, [[500, 3000], [np.nan, np.nan]])
    numbers = d.numbers()
    assert (numbers["grokking"], numbers["confusion"]) == (1, 1)
    assert numbers["goldilocks_lrs"] == [] and numbers["goldilocks_weight_decays"] == []
    assert "no Goldilocks zone" in goldilocks_text(d)
    assert "rqi_median" not in numbers and rqi_medians_text(d) == "-"
    assert grid_text(d).endswith("lr 0.001: C G; lr 0.01: M X")
    assert [r["phase"] for r in d.rows()] == [
        "comprehension",
        "grokking",
        "memorization",
        "confusion",
    ]


def test_rqi_medians_are_per_phase_and_not_measured_where_a_phase_has_no_run():
    steps = [0, 100]
    grid = Grid(lrs=(1e-3,), weight_decays=(0.01, 0.1, 1.0, 10.0), steps=100, eval_every=100)
    members = [([0, 1], [0, 0]), ([0, 1], [0, 0]), ([0, 1], [0, 1]), ([0, 0], [0, 0])]  # M M C X
    result, rows = fake_result(members, steps)
    d = diagram("toy", grid, result, rows, [0.1, 0.3, 1.0, 0.5])
    assert d.numbers()["rqi_median"] == pytest.approx(
        {"comprehension": 1.0, "grokking": math.nan, "memorization": 0.2, "confusion": 0.5},
        nan_ok=True,
    )
    assert rqi_medians_text(d) == "C 1.00, G -, M 0.20, X 0.50"
    assert [r["rqi"] for r in d.rows()] == [0.1, 0.3, 1.0, 0.5]


def test_goldilocks_zone_is_reported_where_generalization_sits_between():
    steps = [0, 100]
    grid = Grid(lrs=(1e-3,), weight_decays=(0.01, 0.1, 1.0), steps=100, eval_every=100)
    members = [([0, 1], [0, 0]), ([0, 1], [0, 1]), ([0, 0], [0, 0])]  # M, C, X along wd
    result, rows = fake_result(members, steps)
    d = diagram("transformer", grid, result, rows)
    assert d.numbers()["goldilocks_lrs"] == [1e-3]
    assert goldilocks_text(d) == "transformer: Goldilocks zone along weight decay at lr 0.001"


def test_quick_grids_vary_lr_and_weight_decay_per_member_on_the_papers_tasks():
    size = SIZES["quick"]
    toy = toy_points(size)
    assert len(toy) == len(size.toy.lrs) * len(size.toy.weight_decays)
    spec = toy[0]
    assert (spec.data.dataset, spec.data.p, spec.members[0].n_train) == ("toy_add_symbols", 10, 45)
    assert (spec.model.arch, spec.model.d_model) == ("toy", 1)  # a learned 1-D representation
    assert (spec.model.act, spec.model.d_mlp, spec.model.n_layers) == ("tanh", 200, 2)
    assert (spec.optim.optimizer, spec.optim.beta2, spec.train.loss) == ("adamw", 0.999, "mse")
    assert spec.optim.group_lr == ("representation=0.001",)  # the paper's, in every cell
    assert spec.optim.group_weight_decay == ("representation=0.0",)
    assert {(s.members[0].lr, s.members[0].weight_decay) for s in toy} == {
        (lr, wd) for lr in size.toy.lrs for wd in size.toy.weight_decays
    }
    tf = transformer_points(size)
    assert (tf[0].data.op, tf[0].data.p, tf[0].model.arch) == ("add", 59, "transformer")
    assert len({s.run_id for s in tf}) == len(tf)
