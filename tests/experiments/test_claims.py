"""Claims as data (issue 22 part 1): each rule is exact, a claim that cannot be measured or
never happened fails and says so, every experiment declares claims its numbers can answer,
and `groklab reproduce` writes them (claims.md/.csv, a caption on each figure), fails
`--check` when one does not hold, and scores `--all` experiments on SCOREBOARD.md/.csv."""

import csv
import math
import re

import pytest

from groklab.experiments import ExperimentContext, load_all
from groklab.experiments.claims import (
    CLAIMS_CSV_HEADER,
    NEVER,
    Claim,
    check_claims,
    delay,
    ratio,
    steps_at,
    value_at,
    write_claims,
)
from groklab.experiments.claims import claim as row_claim


def claim(rule: str, value=lambda n: n["x"], **kw) -> Claim:
    return Claim("text", paper="p", quantity="x", value=value, rule=rule, **kw)


@pytest.mark.parametrize(
    ("rule", "true", "false"),
    [(">= 2", [2, 3], [1.9]), ("<= 2", [2, 1], [2.1]), ("> 2", [2.1], [2]), ("< 2", [1.9], [2]),
     ("== 0", [0], [1e-9]), ("in [1e3, 1e6]", [1000, 1e6], [999, 1e6 + 1])],
)  # fmt: skip
def test_each_rule_holds_exactly_where_it_says(rule, true, false):
    c = claim(rule)
    assert all(c.holds(v) for v in true) and not any(c.holds(v) for v in false)
    assert not c.holds(math.nan)  # not measured never holds


def test_a_rule_the_kit_cannot_read_is_refused_when_declared():
    with pytest.raises(ValueError, match="rule 'about 5'"):
        claim("about 5")


def test_never_and_unmeasured_values_fail_and_say_why():
    claims = [
        claim("<= 100", steps_at("run.steps")),  # never reached: NEVER
        claim(">= 1", value_at("run.missing")),  # a key the numbers lack: not measured
        claim("<= 0.5", ratio(value_at("a"), value_at("b")), sizes=("paper",)),
        claim("<= 0.5", ratio(value_at("a"), value_at("b")), note="quick is short"),
    ]
    numbers = {"run": {"steps": float("nan")}, "a": 1.0, "b": 4.0}
    results = check_claims(claims, numbers, "quick")
    assert len(results) == 3  # the paper-only claim is not checked at quick
    assert (results[0].value, results[0].holds) == (NEVER, False)
    assert "never within the budget" in results[0].why
    assert math.isnan(results[1].value) and "did not measure" in results[1].why
    assert (results[2].value, results[2].holds, results[2].why) == (0.25, True, "")
    assert check_claims(claims, numbers, "micro") == []  # micro checks no claim


def test_a_delay_that_never_ended_fails_a_claim_that_needs_it_within_the_budget():
    numbers = {"run": {"steps_to_train": 200.0, "steps_to_val": float("nan")}}
    loose = claim(">= 1000", delay("run"))
    strict = claim(">= 1000", delay("run"), within_budget=True)
    (a, b) = check_claims([loose, strict], numbers, "quick")
    assert (a.value, a.holds) == (NEVER, True)  # "never" is later than any step...
    assert (b.value, b.holds) == (NEVER, False)  # ...but shows no grokking where one is claimed
    assert b.why.startswith("never within the budget, which the claim needs")
    numbers["run"]["steps_to_val"] = 1500.0
    assert [r.holds for r in check_claims([loose, strict], numbers, "quick")] == [True, True]
    numbers["run"]["steps_to_val"] = 900.0
    assert [r.holds for r in check_claims([loose, strict], numbers, "quick")] == [False, False]


def test_steps_at_reads_a_never_as_the_budget_when_asked_and_ratio_divides_as_ieee():
    numbers = {"base": {"median": math.inf}, "budgets": {"base": 500}}
    assert steps_at("base.median", never_as="budgets.base")(numbers) == 500
    assert steps_at("base.median")(numbers) == NEVER
    zero = value_at("z")
    assert math.isnan(ratio(zero, zero)({"z": 0.0}))
    assert ratio(lambda n: 3.0, zero)({"z": 0.0}) == math.inf


def test_claims_csv_and_markdown_hold_every_checked_row(tmp_path):
    results = check_claims([claim(">= 1"), claim(">= 5")], {"x": 2.0}, "quick")
    md, path = write_claims(tmp_path, "Fig. X", results)
    with path.open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CLAIMS_CSV_HEADER
    assert [r[3:6] for r in rows[1:]] == [["2", ">= 1", "yes"], ["2", ">= 5", "no"]]
    text = md.read_text()
    assert "1 of 2 claims held" in text and text.count("\n| text |") == 2


@pytest.mark.parametrize("name", sorted(n for n in load_all() if n != "omnigrok-qm9"))
def test_every_experiment_declares_claims_its_numbers_answer(name, run_micro_twice, tmp_path):
    experiment = load_all()[name]
    assert {"paper", "quick"} <= set(experiment.claim_sizes())
    if name == "power2022-table":  # draws tables, trains nothing
        ctx = ExperimentContext(size="micro", out_dir=tmp_path, store_root=tmp_path / "s")
        numbers = experiment.run(ctx).numbers
    else:
        numbers = run_micro_twice(name).first.numbers
    for c in experiment.claims:
        value = float(c.value(numbers))  # a wrong key or shape raises here, not "not measured"
        assert isinstance(value, float), c.text


def test_a_claim_row_gives_the_claim_its_four_fields():
    value = value_at("a.b")
    made = row_claim("A sentence (Sec. 1) | 3 | steps, x | in [1, 2]", value, sizes=("paper",))
    assert made == Claim("A sentence (Sec. 1)", "3", "steps, x", value, "in [1, 2]", ("paper",))
    assert row_claim("text |  | x | == 1", value).paper == ""
    with pytest.raises(ValueError, match=re.escape("text | paper | quantity | rule")):
        row_claim("text | x | == 1", value)
