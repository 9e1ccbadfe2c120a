"""Power et al. 2022, Fig. 1 right: the task as a picture — an operation table with the
validation entries hidden. No training: this is what the network sees."""

from __future__ import annotations

from dataclasses import dataclass

from groklab.data import make_table, train_mask
from groklab.experiments.base import ExperimentContext, markdown_table
from groklab.experiments.claims import claim
from groklab.experiments.kit import Drawing, Files, Outcome, declare
from groklab.plots.style import build_figure
from groklab.plots.table import plot_table

TITLE = "Power et al. 2022, Fig. 1 right"


# The paper's panel shows a small table; quick and paper draw the same picture.
@dataclass(frozen=True)
class TableSize:
    ops: tuple[str, ...]
    p: int
    train_fraction: float


SIZES = {
    "paper": TableSize(ops=("div", "add", "s5_mul"), p=97, train_fraction=0.5),
    "quick": TableSize(ops=("div", "add", "s5_mul"), p=97, train_fraction=0.5),
    "micro": TableSize(ops=("add",), p=7, train_fraction=0.5),
}
NOTES = (lambda size, paper: [] if size == paper else [f"p = {size.p}, one op"],)


def outcome(size: TableSize, ctx: ExperimentContext, shrunk: str) -> Outcome:
    drawings, rows = [], []
    for op in size.ops:
        table = make_table(op, size.p)
        mask = train_mask(table.n_examples, seed=0, train_fraction=size.train_fraction)
        fig = build_figure(1, figsize=(7, 7))
        plot_table(fig.axes[0], table, mask)
        drawings.append(Drawing(f"table_{op}.png", fig, ""))
        p = table.p if not op.startswith("s5") else "S5"
        train = int(mask.sum())
        rows.append((op, p, table.n_examples, train, table.n_examples - train))
    header = ("op", "p", "pairs", "train (shown)", "validation (blank)")
    return Outcome({"rows": rows}, markdown_table(header, rows), files=Files(drawings))


CLAIMS = (
    claim(
        "The picture is the task: every pair of the table is either a training entry or a hidden "
        "(validation) one (Fig. 1 right) "
        "| exact | pairs counted in neither or both, over the tables drawn | == 0",
        lambda n: float(
            sum(abs(int(pairs) - int(train) - int(val)) for _, _, pairs, train, val in n["rows"])
        ),
    ),
)
DESCRIPTION = "operation tables with validation entries blank"
STUDY = declare(
    "power2022-table", TITLE, DESCRIPTION, SIZES, NOTES, outcome, "table.md", claims=CLAIMS
)
