"""A paper's claims as data, checked against the numbers of a run.

A `Claim` states what the paper says (its words or a faithful paraphrase, with the section),
the paper's number where it gives one, the quantity groklab computes from the experiment's
`ExperimentResult.numbers`, and a rule on that quantity, written before any run: loosening a
rule until it passes would make the table worthless. Where a size cannot show a claim, the
claim fails there and its row says why (the value, "never", or what is missing).

    Claim("Train accuracy is near perfect within 10^3 steps (Sec. 3.1, Fig. 1 left)",
          paper="< 10^3 steps", quantity="steps to 99 % train",
          value=steps_at("adam.steps_to_train"), rule="<= 1000")

or, as experiments declare them, one row "claim | paper | quantity | rule" and the value:

    claim("Train accuracy is near perfect within 10^3 steps (Sec. 3.1, Fig. 1 left) | "
          "< 10^3 steps | steps to 99 % train | <= 1000", steps_at("adam.steps_to_train"))

`check_claims(claims, numbers, size)` gives one `ClaimResult` per claim that applies to the
size; `claims_table` and `write_claims` turn them into Markdown and CSV (claims.md, claims.csv).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from groklab.files import write_text_atomic

NEVER = math.inf  # a quantity that never happened within the budget
CLAIM_SIZES = ("paper", "quick")  # micro is a smoke test: it checks no claim

_RULE = re.compile(
    r"(?P<op>>=|<=|>|<|==)\s*(?P<x>[-+0-9.e]+)|in \[(?P<lo>[-+0-9.e]+), (?P<hi>[-+0-9.e]+)\]"
)
CLAIMS_CSV_HEADER = ("claim", "paper", "quantity", "value", "rule", "holds", "why")


@dataclass(frozen=True)
class Claim:
    text: str  # the paper's claim and where it is made
    paper: str  # the paper's number ("" where it gives none)
    quantity: str  # what groklab computes, in words
    value: Callable[[dict], float]  # that quantity from the numbers (NEVER, or nan: missing)
    rule: str  # ">= x", "<= x", "> x", "< x", "== x" or "in [a, b]"
    sizes: tuple[str, ...] = CLAIM_SIZES  # the sizes at which the claim is checked
    note: str = ""  # how the size bears on the claim (e.g. "quick: AdamW, not the paper's Adam")
    # The quantity must have happened within the budget: NEVER then fails whatever the rule
    # says. A grokking delay ("steps from 99 % train to 99 % validation >= 1000") is shown only
    # by a run that did generalize; one that never did shows no grokking, only memorization.
    within_budget: bool = False

    def __post_init__(self) -> None:
        if not _RULE.fullmatch(self.rule):
            raise ValueError(
                f"rule {self.rule!r}: use '>= x', '<= x', '> x', '< x', '== x' or 'in [a, b]'"
            )

    def holds(self, value: float) -> bool:
        """Whether `value` satisfies the rule; nan (not measured) never does, nor NEVER where
        the claim needs its quantity `within_budget`."""
        if math.isnan(value) or (self.within_budget and math.isinf(value)):
            return False
        m = _RULE.fullmatch(self.rule)
        if m.group("op") is None:
            return float(m.group("lo")) <= value <= float(m.group("hi"))
        x = float(m.group("x"))
        return {
            ">=": value >= x,
            "<=": value <= x,
            ">": value > x,
            "<": value < x,
            "==": value == x,
        }[m.group("op")]


def claim(row: str, value: Callable[[dict], float], **more) -> Claim:
    """A claim written as one row, "text | paper | quantity | rule" (as its table shows it; the
    paper's number may be empty), with its value and, as keywords, its sizes and note."""
    fields = [f.strip() for f in row.split("|")]
    if len(fields) != 4:
        raise ValueError(f"claim {row!r}: write 'text | paper | quantity | rule'")
    text, paper, quantity, rule = fields
    return Claim(text, paper, quantity, value, rule, **more)


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    value: float
    holds: bool
    why: str  # "" where it holds; else what the value says (never, not measured)

    def row(self) -> tuple[str, str, str, str, str, str, str]:
        c = self.claim
        return (
            c.text,
            c.paper,
            c.quantity,
            value_text(self.value),
            c.rule,
            "yes" if self.holds else "no",
            self.why,
        )


def value_text(v: float) -> str:
    if math.isnan(v):
        return "not measured"
    if math.isinf(v):
        return "never" if v > 0 else "-inf"
    return f"{v:.4g}"


def check_claims(claims: Sequence[Claim], numbers: dict, size: str) -> list[ClaimResult]:
    """Each claim that applies to `size`, checked on `numbers`."""
    results = []
    for claim in claims:
        if size not in claim.sizes:
            continue
        try:
            value = float(claim.value(numbers))
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            value = math.nan
        holds = claim.holds(value)
        why = "" if holds else _why(claim, value, size)
        results.append(ClaimResult(claim, value, holds, why))
    return results


def _why(claim: Claim, value: float, size: str) -> str:
    said = claim.note or (f"the {size} size may be too small to show it" if size != "paper" else "")
    if math.isnan(value):
        return "; ".join(filter(None, ["the run did not measure it", said]))
    if math.isinf(value):
        never = "never within the budget" + (
            ", which the claim needs" if claim.within_budget else ""
        )
        return "; ".join(filter(None, [never, said]))
    return said or "the paper's claim does not hold here"


def count_held(results: Sequence[ClaimResult]) -> tuple[int, int]:
    return sum(r.holds for r in results), len(results)


def claims_table(results: Sequence[ClaimResult]) -> str:
    """Markdown: claim, paper, this run (quantity = value), rule, holds."""
    lines = ["| claim | paper | this run | rule | holds |", "|---|---|---|---|---|"]
    for r in results:
        text, paper, quantity, value, rule, holds, why = r.row()
        verdict = holds if not why else f"{holds} ({why})"
        lines.append(f"| {text} | {paper or '-'} | {quantity}: {value} | {rule} | {verdict} |")
    return "\n".join(lines) + "\n"


def caption(results: Sequence[ClaimResult]) -> str:
    """'3 of 4 claims held' (or that the size checks none)."""
    held, total = count_held(results)
    return f"{held} of {total} claims held" if total else "no claims checked at this size"


def write_claims(out_dir: Path, title: str, results: Sequence[ClaimResult]) -> list[Path]:
    """claims.md (the table under the caption) and claims.csv (CLAIMS_CSV_HEADER) in out_dir."""
    md = out_dir / "claims.md"
    write_text_atomic(md, f"# {title}: claims\n\n{caption(results)}\n\n{claims_table(results)}")
    path = out_dir / "claims.csv"
    write_csv(path, CLAIMS_CSV_HEADER, [r.row() for r in results])
    return [md, path]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A header and rows as a CSV file, written atomically (claims.csv, SCOREBOARD.csv)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


# -- quantities: small helpers the experiments' declarations read with ------------------------


def value_at(path: str) -> Callable[[dict], float]:
    """The number at a dotted path of the numbers ("landscape.10.best_alpha"); nan stays nan
    (not measured)."""
    return lambda numbers: float(lookup(numbers, path))


def steps_at(path: str, *, never_as: str | None = None) -> Callable[[dict], float]:
    """A step count at a dotted path ("adam.steps_to_val"), where nan or inf means it never
    happened within the budget: NEVER, or the number at `never_as` (the budget) when given."""

    def value(numbers: dict) -> float:
        v = float(lookup(numbers, path))
        if math.isnan(v) or math.isinf(v):
            return NEVER if never_as is None else float(lookup(numbers, never_as))
        return v

    return value


def reached(path: str) -> Callable[[dict], float]:
    """1 where the step count at `path` is finite (it happened within the budget), else 0."""
    return lambda numbers: float(math.isfinite(float(lookup(numbers, path))))


def lookup(numbers: dict, path: str):
    node = numbers
    for key in path.split("."):
        node = node[key]
    return node


def ratio(top: Callable[[dict], float], bottom: Callable[[dict], float]):
    """top / bottom as IEEE floats divide (never over never, or 0 / 0, is nan: not measured;
    x / 0 is +-inf)."""

    def value(numbers: dict) -> float:
        a, b = float(top(numbers)), float(bottom(numbers))
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b

    return value


def difference(a: Callable[[dict], float], b: Callable[[dict], float]):
    """a - b (never minus never is nan: not measured)."""
    return lambda n: a(n) - b(n)


def delay(run: str) -> Callable[[dict], float]:
    """Steps from 99 % train to 99 % validation accuracy of a run (`<run>.steps_to_train`,
    `<run>.steps_to_val`); NEVER where validation never got there, nan where train did not."""
    return difference(steps_at(f"{run}.steps_to_val"), steps_at(f"{run}.steps_to_train"))


# Liu et al. 2022's line between comprehension and grokking (their phase diagrams): test
# accuracy reaching 90 % at least 10^3 steps after train accuracy is grokking.
GROKKING_DELAY = 1000
