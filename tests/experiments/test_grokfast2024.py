"""Tests for src/groklab/experiments/grokfast2024.py (Grokfast against Adam and AdamW wd 1)."""

import csv
import math

import numpy as np
import pytest

from groklab.experiments.grokfast2024 import (
    GROKFAST_MODEL,
    RECIPES,
    SIZES,
    medians,
    member_numbers,
    recipe_spec,
    recipes_table,
)


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("grokfast2024")


def test_micro_writes_figure_table_csv_and_each_recipes_curves(micro):
    names = sorted(p.name for p in micro.first.paths)
    assert names == [
        "grokfast.csv",
        "grokfast.md",
        "grokfast.png",
        "grokfast_curves_adamw.csv",
        "grokfast_curves_baseline.csv",
        "grokfast_curves_grokfast_ema.csv",
        "grokfast_curves_grokfast_ma.csv",
    ]
    assert micro.is_png("grokfast.png")


def test_each_recipe_is_one_population_of_three_seeds(micro):
    assert len(micro.trained_first) == len(RECIPES) == 4
    rows = list(csv.DictReader(micro.path("grokfast.csv").open()))
    assert [r["recipe"] for r in rows] == [r.name for r in RECIPES for _ in range(3)]
    by_recipe = {}
    for r in rows:
        by_recipe.setdefault(r["recipe"], set()).add((r["run_id"], r["member"]))
    for members in by_recipe.values():
        assert len({run for run, _ in members}) == 1 and len(members) == 3


def first_step_at(steps: list[int], acc: list[float], threshold: float) -> float:
    for s, a in zip(steps, acc, strict=True):
        if a >= threshold:
            return float(s)
    return math.nan


def test_steps_to_95_and_99_in_the_table_match_each_members_curves(micro):
    rows = list(csv.DictReader(micro.path("grokfast.csv").open()))
    for recipe in RECIPES:
        curves = list(csv.DictReader(micro.path(f"grokfast_curves_{recipe.name}.csv").open()))
        for row in (r for r in rows if r["recipe"] == recipe.name):
            mine = [c for c in curves if c["member"] == row["member"]]
            steps = [int(c["step"]) for c in mine]
            val = [float(c["val_acc"]) for c in mine]
            for t in (95, 99):
                expected = first_step_at(steps, val, t / 100)
                got = float(row[f"steps_to_{t}"])
                assert (math.isnan(got) and math.isnan(expected)) or got == expected
            assert max(steps) <= SIZES["micro"].budgets[recipe.name]


def curves_reaching(step_95: float, step_99: float) -> dict[str, np.ndarray]:
    steps = np.arange(0, 1001, 50)
    val = np.where(steps >= step_99, 0.995, np.where(steps >= step_95, 0.96, 0.1))
    return {"step": steps, "val_acc": val[None], "train_acc": np.ones((1, steps.size))}


def test_member_numbers_are_the_first_evaluated_steps_at_95_and_99():
    numbers = member_numbers(curves_reaching(300, 650))
    assert numbers["steps_to_95"] == 300 and numbers["steps_to_99"] == 650
    assert math.isnan(member_numbers(curves_reaching(300, 5000))["steps_to_99"])


def test_median_counts_a_member_that_never_got_there_as_later_than_any_step():
    rows = [
        {"recipe": "adamw", "steps_to_95": 100.0, "steps_to_99": 200.0},
        {"recipe": "adamw", "steps_to_95": 300.0, "steps_to_99": math.nan},
        {"recipe": "adamw", "steps_to_95": 500.0, "steps_to_99": math.nan},
    ]
    rows += [{**r, "recipe": name} for name in ("baseline", "grokfast_ma", "grokfast_ema")
             for r in rows[:1]]  # fmt: skip
    summary = medians(rows)
    assert summary["adamw"]["median_steps_to_95"] == 300.0
    assert summary["adamw"]["median_steps_to_99"] == math.inf  # 2 of 3 never
    assert (summary["adamw"]["reached_95"], summary["adamw"]["reached_99"]) == (3, 1)
    table = recipes_table(rows, summary, {r.name: 2000 for r in RECIPES})
    adamw = next(line for line in table.splitlines() if line.startswith("| AdamW"))
    assert "never within 2,000" in adamw and "| 300 |" in adamw and "1/3" in adamw
    assert "100, 300, 500" in adamw


def test_paper_recipes_are_the_papers_settings():
    paper = SIZES["paper"]
    specs = {r.name: recipe_spec(paper, r, 0) for r in RECIPES}
    for spec in specs.values():
        assert (spec.data.op, spec.data.p, spec.members[0].train_fraction) == ("mul", 97, 0.5)
        assert spec.model == GROKFAST_MODEL and spec.train.batch_size == 512
        assert (spec.optim.beta1, spec.optim.beta2, spec.optim.warmup_steps) == (0.9, 0.98, 10)
        assert spec.members[0].lr == 1e-3 and spec.members[0].dropout == 0.0
    model = GROKFAST_MODEL
    assert (model.n_layers, model.d_model, model.n_heads, model.d_mlp) == (2, 128, 4, 512)
    assert (model.norm, model.act, model.positions) == ("pre", "gelu", "learned")
    base, ma, ema, adamw = (specs[n] for n in ("baseline", "grokfast_ma", "grokfast_ema", "adamw"))
    assert (base.optim.optimizer, base.members[0].weight_decay, base.optim.transforms) == (
        "adam", 0.0, ())  # fmt: skip
    assert ma.optim.transforms == ("grokfast_ma",) and ma.optim.grokfast_ma_window == 100
    assert (ma.optim.optimizer, ma.members[0].weight_decay, ma.members[0].grokfast_ma_lamb) == (
        "adam_l2", 0.01, 5.0)  # fmt: skip
    assert ema.optim.transforms == ("grokfast_ema",) and ema.optim.optimizer == "adam_l2"
    m = ema.members[0]
    assert (m.weight_decay, m.grokfast_ema_alpha, m.grokfast_ema_lamb) == (0.005, 0.98, 2.0)
    assert (adamw.optim.optimizer, adamw.members[0].weight_decay) == ("adamw", 1.0)
    assert adamw.optim.transforms == ()


def test_quick_says_it_shrank_the_baselines_budget(micro):
    from groklab.experiments.common import shrunk_text
    from groklab.experiments.grokfast2024 import NOTES

    text = shrunk_text(SIZES["quick"], SIZES["paper"], NOTES)
    assert "baseline 5,000" in text and "grokfast_ema 3,000" in text  # the paper: 300,000
    assert "p = " not in text and "model" not in text  # the paper's task and model
    assert "Shrunk from the paper:" in micro.path("grokfast.md").read_text()


def test_second_run_trains_nothing_and_gives_the_same_table(micro):
    assert micro.trained_all == micro.trained_first
    assert micro.mtimes_first == micro.mtimes_all
    assert micro.second.table == micro.first.table
