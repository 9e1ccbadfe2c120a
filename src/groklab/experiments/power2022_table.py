"""Power et al. 2022, Fig. 1 right: the task as a picture — an operation table with the
validation entries hidden. No training: this is what the network sees."""

from __future__ import annotations

from dataclasses import dataclass

from groklab.data import make_table, train_mask
from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
    register,
    write_markdown,
)
from groklab.experiments.claims import Claim
from groklab.plots.style import build_figure, save_figure
from groklab.plots.table import plot_table


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


def run(ctx: ExperimentContext) -> ExperimentResult:
    size = SIZES[ctx.size]
    paths, rows = [], []
    for op in size.ops:
        table = make_table(op, size.p)
        mask = train_mask(table.n_examples, seed=0, train_fraction=size.train_fraction)
        fig = build_figure(1, figsize=(7, 7))
        plot_table(fig.axes[0], table, mask)
        path = ctx.out_dir / f"table_{op}.png"
        save_figure(fig, path)
        paths.append(path)
        rows.append(
            (
                op,
                table.p if not op.startswith("s5") else "S5",
                table.n_examples,
                int(mask.sum()),
                table.n_examples - int(mask.sum()),
            )
        )
    shrunk = "" if ctx.size == "paper" else ("p = 7, one op" if ctx.size == "micro" else "")
    table_md = markdown_table(("op", "p", "pairs", "train (shown)", "validation (blank)"), rows)
    paths.append(
        write_markdown(
            ctx.out_dir / "table.md",
            title="Power et al. 2022, Fig. 1 right",
            table=table_md,
            shrunk=shrunk,
        )
    )
    return ExperimentResult(paths, table_md, shrunk, {"rows": rows})


CLAIMS = (
    Claim(
        "The picture is the task: every pair of the table is either a training entry or a "
        "hidden (validation) one (Fig. 1 right)",
        paper="exact",
        quantity="pairs counted in neither or both, over the tables drawn",
        value=lambda n: float(
            sum(abs(int(pairs) - int(train) - int(val)) for _, _, pairs, train, val in n["rows"])
        ),
        rule="== 0",
    ),
)
register(
    Experiment(
        "power2022-table",
        "Power et al. 2022, Fig. 1 right",
        "operation tables with validation entries blank",
        run,
        claims=CLAIMS,
    )
)
