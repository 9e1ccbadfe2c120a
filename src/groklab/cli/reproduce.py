"""`groklab reproduce NAME [--quick|--paper]` and `groklab reproduce --list`."""

from __future__ import annotations

import argparse
from pathlib import Path

from groklab.cli.common import (
    OUT_DIR_HELP,
    add_size_flags,
    add_sweep_flags,
    make_out_dir,
    out_dir_made,
    preflight,
    with_example,
)
from groklab.errors import GroklabError
from groklab.files import remove_stale_temp_files


def add_reproduce_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce a figure of the founding papers",
        **with_example("groklab reproduce power2022-fraction --quick --out results"),
    )
    p.add_argument("name", nargs="?", help="experiment name (see --list)")
    p.add_argument("--list", action="store_true", help="list the experiments")
    p.add_argument(
        "--all",
        action="store_true",
        help="run every experiment at the size and write DIR/SCOREBOARD.md and .csv (claims "
        "held, wall clock, CPU seconds, the machine)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a claim of the paper does not hold (the claims table says which)",
    )
    add_size_flags(
        p,
        {
            "quick": "shrunk to run on 2 CPU cores in minutes (default)",
            "paper": "the paper's exact numbers (hours to days on a CPU)",
            "micro": "smoke-test size: seconds, numbers meaningless",
        },
    )
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help=f"{OUT_DIR_HELP}: the figure and table go to DIR/NAME/ (default results)",
    )
    p.add_argument(
        "--source",
        default="",
        help="a user data file or directory for experiments that read one (omnigrok-imdb: "
        "'IMDB Dataset.csv'; omnigrok-mnist: a directory of MNIST idx files; omnigrok-qm9: a CSV)",
    )
    add_sweep_flags(p)
    p.set_defaults(func=cmd_reproduce)


def check_source(experiment, size: str, source: str) -> None:
    """--source given where the experiment would not read it: refused (exit 2), not ignored,
    so nobody takes a figure of the built-in data for one of their file."""
    if not source or size in experiment.reads_source:
        if source and not Path(source).exists():  # found now, not after --out is made
            raise GroklabError(
                f"--source {source!r} does not exist; give the data file or directory that "
                f"{experiment.name} reads"
            )
        return
    if not experiment.reads_source:
        raise GroklabError(f"--source {source!r}: {experiment.name} reads no data file; drop it")
    sizes = ", ".join(f"--{s}" for s in experiment.reads_source)
    raise GroklabError(
        f"--source {source!r}: {experiment.name} --{size} does not read it (it uses its "
        f"built-in data); it reads one at {sizes}"
    )


def check_claims_asked(experiments, size: str, check: bool) -> None:
    """--check where no claim is checked at the size: refused (exit 2), not a silent pass."""
    if check and not any(size in e.claim_sizes() for e in experiments):
        which = experiments[0].name if len(experiments) == 1 else "no experiment"
        raise GroklabError(
            f"--check: {which} checks no claim at the --{size} size; claims are checked at "
            "--quick and --paper"
        )


def cmd_reproduce(args: argparse.Namespace) -> int:
    from groklab.experiments import ExperimentContext, get_experiment, listing, load_all
    from groklab.experiments.claims import caption, claims_table
    from groklab.experiments.scoreboard import score, write_scoreboard
    from groklab.progress import ProgressDisplay

    if args.all and args.name is not None:
        raise GroklabError(
            f"--all runs every experiment; drop the name {args.name!r} or drop --all"
        )
    if args.list or (args.name is None and not args.all):
        print("\n".join(listing(load_all().values())))
        return 0
    if args.all and args.source:
        raise GroklabError(f"--source {args.source!r}: give it with one experiment, not --all")
    if args.all:
        experiments = sorted(load_all().values(), key=lambda e: e.name)
    else:
        experiments = [get_experiment(args.name)]  # '' too: one line listing the names
    check_claims_asked(experiments, args.size, args.check)
    for experiment in experiments:
        check_source(experiment, args.size, args.source)
    top = make_out_dir(args.out, create=False)  # '' or a file: refused before anything runs
    outs = [make_out_dir(top / e.name, create=False) for e in experiments]
    ready = preflight(args)  # a bad backend, mirror or --workers fails before anything runs
    root, backend, device, threads = ready.root, ready.backend, ready.device, ready.threads
    scores, failed = [], False
    for experiment, out in zip(experiments, outs, strict=True):
        print(
            f"{experiment.name} ({experiment.figure}), {args.size} size, on {device}, {threads}",
            flush=True,
        )
        # adds up the experiment's successive sweeps; their runs mostly stop at 99 % val long
        # before their step budget, so a time remaining counted to it would mislead
        bar = ProgressDisplay(unit="member-step", eta=False)
        # what only the experiment can find (a --source of the wrong kind) fails inside: the
        # directories made for it are removed again while empty
        with out_dir_made(out):
            remove_stale_temp_files(out, recursive=False)  # outputs of writers killed mid-write
            ctx = ExperimentContext(
                size=args.size,
                out_dir=out,
                store_root=root,
                backend=backend,
                options=ready.options,
                progress=bar.sweep,
                source=args.source,
            )
            try:
                if args.all:
                    scores.append(score(experiment, ctx))
                    result = scores[-1].result
                else:
                    result = experiment.reproduce(ctx)
            finally:
                bar.close()
        if result is None:  # --all: it could not run here; its row says why
            print(f"{experiment.name}: {scores[-1].status}")
            failed = True
            continue
        _print_result(result, caption, claims_table)
        failed = failed or not all(c.holds for c in result.claims)
    if args.all:
        for path in write_scoreboard(make_out_dir(top), args.size, scores):
            print(f"wrote {path}")
    return 1 if args.check and failed else 0


def _print_result(result, caption, claims_table) -> None:
    print(result.table)
    if result.shrunk:
        print(f"shrunk from the paper: {result.shrunk}")
    if result.claims:
        print(f"claims: {caption(result.claims)}")
        print(claims_table(result.claims))
    for path in result.paths:
        print(f"wrote {path}")
