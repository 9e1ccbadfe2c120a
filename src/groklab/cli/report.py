"""`groklab report RUN [RUN ...] [--compare] --out DIR`: an interactive HTML page per run, with
--compare one page drawing the runs together, and an index linking them."""

from __future__ import annotations

import argparse
import textwrap

from groklab.cli.common import (
    OUT_DIR_HELP,
    add_store,
    make_out_dir,
    open_store,
    store_root,
    with_example,
)
from groklab.errors import GroklabError


def add_report_command(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="write an interactive HTML page per run (curves, norms, stored measures by "
        "family) and an index; --compare draws the runs on one page",
        description=textwrap.fill(
            "Write DIR/<run id>.html for each run: its spec, members, and interactive "
            "plots (zoom on the log step axis, values on hover) of its curves, parameter norms and "
            "every stored measure, grouped by family; a measure that applies but is not stored is "
            "named with the groklab measure command that adds it. With --compare, also "
            "DIR/compare.html, a trace per member of every run. DIR/index.html links the pages, "
            "and DIR/plotly.min.js, which they share, lets the folder open offline.",
            width=88,
        ),
        **with_example(
            "groklab report r-1a2b3c r-4d5e6f --out report\n"
            "  groklab report r-1a2b3c r-4d5e6f --compare --out report"
        ),
    )
    report.add_argument("runs", nargs="*", metavar="RUN", help="run ids (unique prefixes will do)")
    report.add_argument("--all", action="store_true", help="every run in the store")
    report.add_argument(
        "--compare",
        action="store_true",
        help="also draw the runs (two or more) together on DIR/compare.html",
    )
    report.add_argument("--out", required=True, metavar="DIR", help=OUT_DIR_HELP)
    add_store(report)
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from groklab.report import write_report

    if args.all and args.runs:
        raise GroklabError("give run ids or --all, not both")
    make_out_dir(args.out, create=False)  # not '' (the current directory), not a file
    store = open_store(args, create=False)
    if store is None:
        raise GroklabError(f"no runs to report: no store at {str(store_root(args))!r}")
    with store:
        runs = [r.run_id for r in store.list_runs()] if args.all else args.runs
        if args.all and not runs:
            raise GroklabError(f"no runs to report: the store {str(store.root)!r} is empty")
        paths = write_report(
            runs,
            args.out,
            store=store,
            compare=args.compare,
            progress=lambda p: print(f"wrote {p}"),
        )
    print(f"open {paths[-1]} in a browser")
    return 0
