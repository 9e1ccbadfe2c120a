"""An experiment as a declaration, and the one runner that turns any declaration into files.

A `Study` names the experiment and its figure, its sizes (one frozen dataclass per size name,
written as a `size_table`), its notes (what a size shrank, for `common.shrunk_text`), its
claims, the Markdown file it writes, and `outcome(size, ctx, shrunk)`: the part that is the
paper's own (train its runs, read their numbers, draw its panels). Everything after that is
the same for every experiment and lives here (`run_study`): title and save each figure, write
each table of rows and each set of curves as CSV, the Markdown table headed by what the size
shrank, and the `ExperimentResult` whose numbers the claims read.

    STUDY = declare("power2022-fraction", TITLE, DESCRIPTION, SIZES, NOTES, outcome,
                    markdown="fraction.md", claims=CLAIMS)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from groklab.experiments.base import (
    Experiment,
    ExperimentContext,
    ExperimentResult,
    markdown_table,
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
    caveat: str = ""  # said after what was shrunk, in the panel's note


@dataclass(frozen=True)
class Curves:
    """Curves ({"step": [S], metric: [M, S]}) for a CSV file with `measures` as extra columns."""

    values: dict[str, np.ndarray]
    measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Files:
    """The files an experiment writes beside its Markdown: its figures, then its CSV files in
    order, each a list of rows (`write_rows_csv`) or curves (`write_curves_csv`: a dict, or
    `Curves` with measures). Parts of an experiment add up: `grokking + landscape`."""

    drawings: Sequence[Drawing] = ()
    tables: Mapping[str, list[dict] | dict[str, np.ndarray] | Curves] = field(default_factory=dict)

    def __add__(self, other: Files) -> Files:
        return Files([*self.drawings, *other.drawings], {**self.tables, **other.tables})


@dataclass(frozen=True)
class Outcome:
    """What an experiment's own part gives the runner: its numbers (what the claims read), its
    Markdown table and the notes under it, and its files."""

    numbers: dict
    table: str
    notes: str = ""
    files: Files = Files()
    second_table: str = ""  # shown with the first where the result is printed (in the notes)


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
    resize: Callable[[Any, ExperimentContext], Any] | None = None  # the size for what ctx holds

    def run(self, ctx: ExperimentContext) -> ExperimentResult:
        return run_study(self, ctx)


def run_study(study: Study, ctx: ExperimentContext) -> ExperimentResult:
    """Train the size's runs (or read them back), then write its figures, CSV files and
    Markdown; the result lists every file written, figures first."""
    size = study.sizes[ctx.size]
    size = study.resize(size, ctx) if study.resize else size
    shrunk = shrunk_text(size, study.sizes["paper"], study.notes)
    out = study.outcome(size, ctx, shrunk)
    paths = write_files(out.files, ctx, shrunk)
    md = ctx.out_dir / study.markdown
    title = study.heading or study.title
    write_markdown(md, title=title, table=out.table, shrunk=shrunk, notes=out.notes)
    table = out.table + (f"\n{out.second_table}" if out.second_table else "")
    return ExperimentResult([*paths, md], table, shrunk, out.numbers)


def write_files(files: Files, ctx: ExperimentContext, shrunk: str = "") -> list[Path]:
    """Title and save each figure (at a low resolution for micro, a smoke test), then write
    each CSV file, into the context's out folder. Returns the paths in that order."""
    paths = []
    for d in files.drawings:
        if d.title and d.note_panel is None:  # untitled: a picture of the task
            title_with_shrunk(d.figure, d.title, shrunk, width=d.title_width)
        elif d.title:
            d.figure.suptitle(d.title)
            ax = d.figure.axes[d.note_panel]
            note = ". ".join(filter(None, [shrunk, d.caveat]))
            plot_size_note(ax, ctx.size, note, d.settings, width=d.title_width or 110)
        paths.append(ctx.out_dir / d.file)
        save_figure(d.figure, paths[-1], dpi=60 if ctx.size == "micro" else 150)
    for name, table in files.tables.items():
        paths.append(ctx.out_dir / name)
        if isinstance(table, Curves):
            write_curves_csv(table.values, paths[-1], measures=table.measures)
        elif isinstance(table, dict):
            write_curves_csv(table, paths[-1])
        else:
            write_rows_csv(table, paths[-1])
    return paths


def declare(study: Study | str, *fields: Any, **more: Any) -> Study:
    """Register the study as an `Experiment` (for `groklab reproduce`) and return it; given
    the `Study`'s fields instead (its name first), declare the `Study` they make."""
    if not isinstance(study, Study):
        study = Study(study, *fields, **more)
    register(
        Experiment(
            study.name, study.title, study.description, study.run, study.reads_source, study.claims
        )
    )
    return study


def size_table(cls: type, columns: str, rows: Mapping[str, tuple], *more: Any, **shared: Any):
    """The sizes as a table: {size name: cls(**shared, **row)}, each row's values in the order
    of `columns` (field names separated by spaces); `shared` holds what every size sets alike,
    and `more` further (columns, rows) pairs, for a table too wide for one.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Size:
    ...     p: int
    ...     steps: int
    ...     seed: int
    >>> size_table(Size, "p steps", {"paper": (97, 10_000), "micro": (7, 30)}, seed=0)["micro"]
    Size(p=7, steps=30, seed=0)
    """
    tables = [(columns, rows), *zip(more[::2], more[1::2], strict=True)]
    fields = {size: dict(shared) for size in rows}
    for names, table in tables:
        for size, row in table.items():
            fields[size].update(zip(names.split(), row, strict=True))
    return {size: cls(**values) for size, values in fields.items()}


def table_of(rows: Sequence[dict], columns: Mapping[str, str], cell: Callable | None = None) -> str:
    """The rows as a Markdown table: one column per `columns` key, headed by its value; a
    cell is `cell(row, key)` (default: the row's value)."""
    cells = [[cell(r, k) if cell else r[k] for k in columns] for r in rows]
    return markdown_table(list(columns.values()), cells)


def by_run(rows: Sequence[dict], columns: Iterable[str]) -> dict[str, dict]:
    """The numbers of each row under its "run": {run: {column: value}}, "run" left out."""
    return {r["run"]: {k: r[k] for k in columns if k != "run"} for r in rows}


def header(text: str) -> list[str]:
    """A table's columns written as its Markdown header row, so a wide table stays a few lines:
    header("run | steps to 99 % val | delay") == ["run", "steps to 99 % val", "delay"]."""
    return [column.strip() for column in text.split("|")]
