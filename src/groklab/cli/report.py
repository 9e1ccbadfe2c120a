"""`groklab report RUN [RUN ...] --out DIR`: an HTML page per run and an index linking them."""

from __future__ import annotations

import argparse

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
        help="write a self-contained HTML page per run (curves, norms, measures) and an index",
        **with_example("groklab report r-1a2b3c r-4d5e6f --out report"),
    )
    report.add_argument("runs", nargs="*", metavar="RUN", help="run ids (unique prefixes will do)")
    report.add_argument("--all", action="store_true", help="every run in the store")
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
        paths = write_report(runs, args.out, store=store, progress=lambda p: print(f"wrote {p}"))
    print(f"open {paths[-1]} in a browser")
    return 0
