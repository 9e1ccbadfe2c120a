"""The reproduction scoreboard: every experiment at one size, its claims held, and its cost.

`groklab reproduce --all [--quick|--paper]` runs each experiment in turn (finished runs are
reused from the store, so an interrupted scoreboard resumes), writes each one's figure, tables
and claims under DIR/<experiment>/, and then DIR/SCOREBOARD.md and DIR/SCOREBOARD.csv: one row
per experiment with its claims held / total, its wall clock and CPU seconds, on the machine
named at the top. An experiment that cannot run here (an extra not installed) is a row that
says why, and its claims count as not held. Under the table, each claim that did not hold:
the experiment, the claim, our number against its rule, and why (so a reviewer sees what
failed without opening every experiment's claims.md).

    rows = [score(experiment, ctx) for experiment in experiments]
    write_scoreboard(out_dir, "quick", rows)
"""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from groklab.errors import GroklabError
from groklab.experiments.base import Experiment, ExperimentContext, ExperimentResult
from groklab.experiments.claims import count_held, value_text, write_csv
from groklab.files import write_text_atomic
from groklab.perf import machine_text
from groklab.train import TrainingInterrupted

SCOREBOARD_HEADER = (
    "experiment",
    "figure",
    "size",
    "claims_held",
    "claims",
    "wall_s",
    "cpu_s",
    "status",
)


@dataclass(frozen=True)
class Score:
    experiment: Experiment
    size: str
    held: int
    total: int
    wall_s: float
    cpu_s: float  # this process and its finished children (worker processes)
    status: str  # "ran", or why it could not
    result: ExperimentResult | None = None

    def row(self) -> tuple:
        e = self.experiment
        return (
            e.name,
            e.figure,
            self.size,
            self.held,
            self.total,
            round(self.wall_s, 1),
            round(self.cpu_s, 1),
            self.status,
        )


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def score(experiment: Experiment, ctx: ExperimentContext) -> Score:
    """Reproduce one experiment, timed; a GroklabError (a missing extra, a refused input) is
    its row's status instead of the end of the scoreboard; Ctrl-C ends the scoreboard."""
    wall, cpu = time.monotonic(), cpu_seconds()
    total = sum(ctx.size in c.sizes for c in experiment.claims)
    try:
        result = experiment.reproduce(ctx)
    except TrainingInterrupted:  # Ctrl-C stops the scoreboard; the runs are saved
        raise
    except GroklabError as e:
        took = time.monotonic() - wall, cpu_seconds() - cpu
        return Score(experiment, ctx.size, 0, total, *took, f"did not run: {e}")
    held, total = count_held(result.claims)
    took = time.monotonic() - wall, cpu_seconds() - cpu
    return Score(experiment, ctx.size, held, total, *took, "ran", result)


def write_scoreboard(out_dir: Path, size: str, scores: Sequence[Score]) -> list[Path]:
    """SCOREBOARD.md and SCOREBOARD.csv in out_dir."""
    held = sum(s.held for s in scores)
    total = sum(s.total for s in scores)
    lines = [
        f"# Reproduction scoreboard, {size} size\n",
        f"{held} of {total} claims held over {len(scores)} experiments. Machine: "
        f"{machine_text()}.\n",
        "| experiment | figure | claims held | wall clock (s) | CPU (s) | status |",
        "|---|---|---|---|---|---|",
    ]
    for s in scores:
        link = (
            f"[{s.experiment.name}]({s.experiment.name}/claims.md)"
            if s.result
            else s.experiment.name
        )
        lines.append(
            f"| {link} | {s.experiment.figure} | {s.held} / {s.total} | "
            f"{s.wall_s:.0f} | {s.cpu_s:.0f} | {s.status} |"
        )
    lines += failed_claims(scores)
    md = out_dir / "SCOREBOARD.md"
    write_text_atomic(md, "\n".join(lines) + "\n")
    path = out_dir / "SCOREBOARD.csv"
    write_csv(path, SCOREBOARD_HEADER, [s.row() for s in scores])
    return [md, path]


def failed_claims(scores: Sequence[Score]) -> list[str]:
    """Markdown lines: a table of every claim that did not hold (experiment, claim, this run
    against the rule, why), or none where every claim held; an experiment that did not run
    is in the table above with its reason."""
    rows = [
        f"| {s.experiment.name} | {r.claim.text} | {r.claim.quantity}: {value_text(r.value)} | "
        f"{r.claim.rule} | {r.why} |"
        for s in scores
        if s.result
        for r in s.result.claims
        if not r.holds
    ]
    if not rows:
        return []
    header = ["| experiment | claim | this run | rule | why |", "|---|---|---|---|---|"]
    return ["", "## Claims that did not hold", "", *header, *rows]
