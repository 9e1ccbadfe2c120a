"""Tests for src/groklab/experiments/prieto2025.py (softmax collapse, ⊥AdamW, StableMax)."""

import csv
import math

import numpy as np
import pytest
import torch

import groklab
from groklab.cli.main import main
from groklab.experiments.prieto2025 import COLLAPSE, RECIPES, SIZES, keep_rule, recipe_spec
from groklab.spec import PRESETS
from groklab.store import RunStore


@pytest.fixture(scope="module")
def micro(run_micro_twice):
    return run_micro_twice("prieto2025")


def store_of(micro):
    return micro.path("prieto.csv").parents[1] / "store"


def test_micro_writes_figure_table_and_curves_with_the_collapse_column(micro):
    names = sorted(p.name for p in micro.first.paths)
    expected = [f"prieto_curves_{r.name}_seed0.csv" for r in RECIPES]
    assert names == sorted(["prieto.csv", "prieto.md", "prieto.png", *expected])
    assert micro.is_png("prieto.png")
    header = micro.path("prieto_curves_collapse_seed0.csv").read_text().splitlines()[0]
    assert header.endswith(",lr,softmax_collapse")


def plain_collapse(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The share of rows whose float32 softmax is exactly 1 at the target, written out."""
    z = logits.float()
    p = torch.exp(z - z.max(-1, keepdim=True).values)
    p = p / p.sum(-1, keepdim=True)
    return float((p[torch.arange(len(targets)), targets] == 1.0).double().mean())


def test_collapse_is_stored_at_every_kept_step_and_matches_a_plain_softmax(micro):
    rows = {r["run"]: r for r in csv.DictReader(micro.path("prieto.csv").open())}
    with RunStore(store_of(micro)) as store:
        run_id = rows["collapse"]["run_id"]
        kept = sorted(store.kept_checkpoints(run_id))
        stored = store.read_measures(run_id, [COLLAPSE])
        assert sorted(int(s) for s in stored["step"]) == kept and len(kept) > 5
        for step, value in zip(stored["step"], stored[COLLAPSE][0], strict=True):
            model, task = groklab.load(run_id, 0, int(step), store=store)
            with torch.no_grad():
                logits = model(task.inputs[task.train_mask])
            expected = plain_collapse(logits, task.targets[task.train_mask])
            assert value == pytest.approx(expected, abs=2 / task.train_mask.sum().item())
    assert float(rows["collapse"]["collapse_max"]) > 0.2  # lr 0.1 collapses in micro
    assert float(rows["collapse"]["collapse_end"]) == pytest.approx(value)


def test_curves_command_shows_the_stored_collapse(micro, tmp_path, capsys):
    run_id = next(csv.DictReader(micro.path("prieto.csv").open()))["run_id"]
    out = tmp_path / "curves.csv"
    argv = ["curves", run_id, "--store", str(store_of(micro)), "--measures", COLLAPSE]
    assert main([*argv, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    measured = [r for r in rows if r[COLLAPSE] not in ("", "nan")]
    assert measured and all(0.0 <= float(r[COLLAPSE]) <= 1.0 for r in measured)


def test_every_collapse_value_in_a_runs_curves_csv_is_the_stored_one(micro):
    rows = list(csv.DictReader(micro.path("prieto_curves_collapse_seed0.csv").open()))
    run_id = next(r for r in csv.DictReader(micro.path("prieto.csv").open())
                  if r["run"] == "collapse")["run_id"]  # fmt: skip
    with RunStore(store_of(micro)) as store:
        stored = store.read_measures(run_id, [COLLAPSE])
    table = dict(zip(stored["step"].tolist(), stored[COLLAPSE][0].tolist(), strict=True))
    for row in rows:
        value = float(row[COLLAPSE]) if row[COLLAPSE] not in ("",) else math.nan
        if int(row["step"]) in table:
            assert value == pytest.approx(table[int(row["step"])])
        else:
            assert math.isnan(value)


def test_second_run_trains_and_measures_nothing_new(micro):
    assert micro.trained_all == micro.trained_first and len(micro.trained_first) == 4
    assert micro.mtimes_first == micro.mtimes_all
    assert micro.second.table == micro.first.table


def test_paper_runs_are_the_papers_settings():
    paper = SIZES["paper"]
    specs = {r.name: recipe_spec(paper, r, 0) for r in RECIPES}
    for spec in specs.values():
        assert (spec.data.op, spec.data.p, spec.members[0].train_fraction) == ("add", 113, 0.4)
        assert spec.model == PRESETS["prieto2025"] and spec.train.batch_size == "full"
        assert (spec.optim.optimizer, spec.optim.beta1, spec.optim.warmup_steps) == (
            "adamw", 0.9, 0)  # fmt: skip
        assert spec.members[0].lr == 1e-2 and spec.train.dtype == "float32"
    ortho, collapse, stable, wd8 = (specs[n] for n in ("orthograd", "collapse", "stablemax", "wd8"))
    assert ortho.optim.transforms == ("orthograd",) and ortho.members[0].weight_decay == 0.0
    assert ortho.optim.beta2 == 0.99 and ortho.train.steps == 300
    assert collapse.train.loss == "ce" and collapse.train.loss_dtype == "float32"
    assert collapse.members[0].weight_decay == 0.0 and collapse.optim.transforms == ()
    assert stable.train.loss == "stablemax" and stable.members[0].weight_decay == 0.0
    assert stable.optim.beta2 == 0.999 and stable.train.steps == 80_000
    assert wd8.members[0].weight_decay == 8.0 and wd8.optim.transforms == ()


def test_the_collapse_run_keeps_a_checkpoint_every_fiftieth_of_its_budget_the_others_log():
    rules = {r.name: keep_rule(SIZES["paper"], r) for r in RECIPES}
    assert rules == {"orthograd": "log:24", "collapse": "every:1600", "stablemax": "log:24",
                     "wd8": "log:24"}  # fmt: skip
    collapse = next(r for r in RECIPES if r.name == "collapse")
    assert keep_rule(SIZES["micro"], collapse) == "every:5"  # at least one evaluation


def test_a_backend_that_keeps_nothing_leaves_collapse_unmeasured_and_says_so(tmp_path):
    from groklab.experiments import ExperimentContext, get_experiment
    from groklab.sweep import LocalBackend

    class NoKeep:  # trains like the local backend but keeps no checkpoint, whatever it is asked
        def run(self, specs, *, options, **kwargs):
            kept_none = options.with_fields(keep_checkpoints="none")
            return LocalBackend().run(specs, options=kept_none, **kwargs)

    (tmp_path / "out").mkdir()
    ctx = ExperimentContext("micro", tmp_path / "out", tmp_path / "store", backend=NoKeep())
    result = get_experiment("prieto2025").run(ctx)
    assert all(np.isnan(n["collapse_end"]) for n in result.numbers.values())
    text = (tmp_path / "out" / "prieto.md").read_text()
    assert "Not measured for collapse, orthograd, stablemax, wd8" in text
    rows = [line for line in text.splitlines() if line.startswith("| collapse |")]
    assert rows and rows[0].count("not measured") == 2  # at the end and highest, not "never"
