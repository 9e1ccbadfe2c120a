"""`groklab`: the parser and the commands over data; the other commands live beside it.

Every bad input ends in one line on stderr that names the value and what is allowed, and exit
status 2; never a traceback, never a half-written run. What the machine refuses (a read-only
directory, a full disk, a store that SQLite cannot write, memory) is one line too, naming
the path where there is one.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from groklab.catalog import OPERATIONS
from groklab.cli.common import (
    EXIT_USAGE,
    OUT_FILE_HELP,
    Parser,
    check_out_dir,
    make_parents,
    os_error_text,
    resume_hint,
    with_example,
)
from groklab.errors import GroklabError

MAX_SEED = 2**63 - 1  # as a member's seed (spec/sections.py)

MAIN_JOB = (
    "groklab train --op div --p 97 --train-fraction 0.5 --model power2022 --weight-decay 1 "
    "--stop-at-val-acc 0.99 --out results"
)
FIRST_RUN = f"""start here: train Power et al.'s x/y mod 97 until validation accuracy reaches 99 %
(a few minutes on a CPU; results/ gets its curves CSV and figure), then list the runs:
  {MAIN_JOB}
  groklab runs
runs are kept in ./groklab-runs (in the current directory; --store or $GROKLAB_STORE
choose another). `groklab COMMAND --help` explains each command's flags."""


def build_parser() -> Parser:
    from groklab import __version__
    from groklab.cli.bench import add_bench_command
    from groklab.cli.export import add_export_command
    from groklab.cli.measure import add_measure_command
    from groklab.cli.report import add_report_command
    from groklab.cli.reproduce import add_reproduce_command
    from groklab.cli.sweep import add_sweep_command
    from groklab.cli.train import add_train_commands

    parser = Parser(
        prog="groklab",
        description="Study grokking: train populations of small "
        "models on exact algorithmic tasks and look inside them.",
        epilog=FIRST_RUN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"groklab {__version__}")
    parser.set_defaults(argv=None)  # main() sets the arguments it parsed, for resume hints
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    ops = sub.add_parser(
        "ops", help="list the operations with their formulas", **with_example("groklab ops")
    )
    ops.set_defaults(func=cmd_ops)

    data = sub.add_parser(
        "data",
        help="export an operation table or draw it",
        **with_example("groklab data export div --p 97 --out div97.csv"),
    )
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    export = data_sub.add_parser(
        "export",
        help="write the full table as CSV (x,y,z)",
        **with_example("groklab data export div --p 97 --out div97.csv"),
    )
    _add_op_p(export)
    export.add_argument("--out", required=True, help=f"CSV {OUT_FILE_HELP}")
    export.set_defaults(func=cmd_data_export)
    table = data_sub.add_parser(
        "table",
        help="draw the table, validation entries blank",
        **with_example("groklab data table div --p 23 --train-fraction 0.3 --out div23.png"),
    )
    _add_op_p(table)
    table.add_argument(
        "--train-fraction", type=float, default=0.5, help="fraction of entries shown (default 0.5)"
    )
    table.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    table.add_argument("--out", required=True, help=f"PNG {OUT_FILE_HELP}")
    table.set_defaults(func=cmd_data_table)

    add_train_commands(sub)
    add_sweep_command(sub)
    add_reproduce_command(sub)
    add_bench_command(sub)
    add_export_command(sub)
    add_report_command(sub)
    add_measure_command(sub)
    return parser


def _add_op_p(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("op", help=f"one of: {', '.join(OPERATIONS)}")
    parser.add_argument("--p", type=int, default=97, help="modulus (ignored for S5 ops)")


def cmd_ops(args: argparse.Namespace) -> int:
    from groklab.data import OPS, make_table

    print(f"{'name':<12} {'formula':<34} {'domain':<28} rows (p=97)")
    for op in OPS.values():
        rows = make_table(op.name, 97).n_examples
        print(f"{op.name:<12} {op.formula:<34} {op.domain:<28} {rows}")
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    from groklab.data import make_table, write_table_csv

    table = make_table(args.op, args.p)
    check_out_dir(args.out)  # after every check: a bad op or p makes no directory
    write_table_csv(table, args.out)
    print(f"wrote {table.n_examples} rows of {args.op} (p={table.p}) to {args.out}")
    return 0


def cmd_data_table(args: argparse.Namespace) -> int:
    from groklab.data import make_table, train_mask
    from groklab.plots.style import build_figure, figure_format, save_figure
    from groklab.plots.table import plot_table

    table = make_table(args.op, args.p)
    if not 0 <= args.seed <= MAX_SEED:
        raise GroklabError(f"--seed={args.seed} is out of range; allowed: in [0, {MAX_SEED}]")
    mask = train_mask(table.n_examples, seed=args.seed, train_fraction=args.train_fraction)
    check_out_dir(args.out, create=False)
    figure_format(args.out)
    make_parents(args.out)  # after every check: a bad value or suffix makes no directory
    fig = build_figure(1, figsize=(7, 7))
    plot_table(fig.axes[0], table, mask)
    save_figure(fig, args.out)
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # for the resume hint
    from groklab.train.loop import TrainingInterrupted  # after parsing: --help stays fast

    try:
        return args.func(args)
    except TrainingInterrupted as e:  # train and sweep say more themselves; reproduce lands here
        print(f"{e}. Resume with:\n  {resume_hint(argv)}")
        return 130
    except GroklabError as e:
        sys.stderr.write(f"groklab: error: {e}\n")
        return EXIT_USAGE
    except (OSError, sqlite3.Error, MemoryError) as e:  # the machine said no: still one line
        sys.stderr.write(f"groklab: error: {os_error_text(e)}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("groklab: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
