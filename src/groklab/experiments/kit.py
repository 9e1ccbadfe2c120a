"""An experiment as a declaration, and the one runner that turns any declaration into files.

A `Study` names the experiment and its figure, its sizes (one frozen dataclass per size name,
a `size_table`), its notes (what a size shrank, for
`common.shrunk_text`), its claims, the Markdown file it writes, and `outcome(size, ctx,
shrunk)`: the part that is the paper's own (train its runs, read their numbers, draw its
panels). Everything after that is the same for every experiment and lives here: title and
save each figure, write each table of rows and each set of curves as CSV, the Markdown table
headed by what the size shrank, and the `ExperimentResult` whose numbers the claims read.

    STUDY = declare(Study("power2022-fraction", TITLE, DESCRIPTION, SIZES, NOTES, outcome,
                          markdown="fraction.md", claims=CLAIMS))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    register,
    write_markdown,
)
from groklab.experiments.claims import Claim
from groklab.experiments.common import Note, shrunk_text
from groklab.plots.style import plot_size_note, save_figure, title_with_shrunk
from groklab.store import write_curves_csv
from groklab.sweep import write_rows_csv


@dataclass(frozen=True)
class Drawing:
    """A figure an experiment drew, saved as `file`. The runner titles it with `title` and
    what the size shrank; with `note_panel`, the title stays one line and the shrunk note (or,
    at the paper size, `settings`) goes above that panel instead."""

    file: str
    figure: Figure
    title: str
    title_width: int | None = None
    note_panel: int | None = None
    settings: str = ""


@dataclass(frozen=True)
class Outcome:
    """What an experiment's own part gives the runner: its numbers (what the claims read), its
    Markdown table and the notes under it, its figures, and its CSV files by name."""

    numbers: dict
    table: str
    notes: str = ""
    drawings: Sequence[Drawing] = ()
    rows: Mapping[str, list[dict]] = field(default_factory=dict)  # file -> one row per dict
    curves: Mapping[str, dict[str, np.ndarray]] = field(default_factory=dict)  # file -> curves


@dataclass(frozen=True)
class Study:
    """An experiment, declared: see the module's docstring."""

    name: str  # e.g. "power2022-fraction"
    title: str  # e.g. "Power et al. 2022, Fig. 1 center"
    description: str
    sizes: Mapping[str, Any]  # "paper", "quick", "micro" -> the size's settings
    notes: Sequence[Note]
    outcome: Callable[[Any, ExperimentContext, str], Outcome]  # (size, ctx, shrunk)
    markdown: str  # the Markdown file's name
    heading: str = ""  # the Markdown's title ("" : `title`)
    claims: tuple[Claim, ...] = ()
    reads_source: tuple[str, ...] = ()

    def run(self, ctx: ExperimentContext) -> ExperimentResult:
        return run_study(self, ctx)


def run_study(study: Study, ctx: ExperimentContext) -> ExperimentResult:
    """Train the size's runs (or read them back), then write its figures, CSV files and
    Markdown; the result lists every file written, figures first."""
    size = study.sizes[ctx.size]
    shrunk = shrunk_text(size, study.sizes["paper"], study.notes)
    out = study.outcome(size, ctx, shrunk)
    paths = []
    for d in out.drawings:
        if d.note_panel is None:
            title_with_shrunk(d.figure, d.title, shrunk, width=d.title_width)
        else:
            d.figure.suptitle(d.title)
            ax = d.figure.axes[d.note_panel]
            plot_size_note(ax, ctx.size, shrunk, d.settings, width=d.title_width or 110)
        paths.append(ctx.out_dir / d.file)
        save_figure(d.figure, paths[-1], dpi=60 if ctx.size == "micro" else 150)  # micro: smoke
    for name, rows in out.rows.items():
        paths.append(ctx.out_dir / name)
        write_rows_csv(rows, paths[-1])
    for name, curves in out.curves.items():
        paths.append(ctx.out_dir / name)
        write_curves_csv(curves, paths[-1])
    heading = study.heading or study.title
    md = ctx.out_dir / study.markdown
    write_markdown(md, title=heading, table=out.table, shrunk=shrunk, notes=out.notes)
    return ExperimentResult([*paths, md], out.table, shrunk, out.numbers)


def declare(study: Study) -> Study:
    """Register the study as an `Experiment` (for `groklab reproduce`) and return it."""
    experiment = Experiment(study.name, study.title, study.description, study.run)
    register(replace(experiment, reads_source=study.reads_source, claims=study.claims))
    return study


def size_table(cls: type, columns: str, rows: Mapping[str, tuple], **shared: Any) -> dict:
    """The sizes as a table: {size name: cls(**shared, **row)}, each row's values in the order
    of `columns` (field names separated by spaces); `shared` holds what every size sets alike.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Size:
    ...     p: int
    ...     steps: int
    ...     seed: int
    >>> size_table(Size, "p steps", {"paper": (97, 10_000), "micro": (7, 30)}, seed=0)["micro"]
    Size(p=7, steps=30, seed=0)
    """
    names = columns.split()
    return {size: cls(**shared, **dict(zip(names, row, strict=True))) for size, row in rows.items()}


def header(text: str) -> list[str]:
    """A table's columns written as its Markdown header row, so a wide table stays a few lines:
    header("run | steps to 99 % val | delay") == ["run", "steps to 99 % val", "delay"]."""
    return [column.strip() for column in text.split("|")]
