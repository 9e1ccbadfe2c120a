"""`groklab export RUN --member I [--step S] --out FILE.pt`: one member as a state dict + spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from groklab.cli.common import (
    OUT_FILE_HELP,
    add_store,
    check_out_dir,
    make_parents,
    open_run,
    with_example,
)


def add_export_command(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export",
        help="write one member's weights and the spec that rebuilds it (.pt)",
        **with_example("groklab export r-1a2b3c --member 1 --out members/member1.pt"),
    )
    export.add_argument("run", help="run id (a unique prefix will do)")
    export.add_argument("--member", type=int, default=0, help="member index (default 0)")
    export.add_argument(
        "--step", type=int, default=None, help="a kept step (default: the latest state)"
    )
    export.add_argument("--out", required=True, metavar="FILE", help=f".pt {OUT_FILE_HELP}")
    add_store(export)
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from groklab.loader import exported_member
    from groklab.store import save_atomic

    check_out_dir(args.out, create=False)
    store, run_id = open_run(args)
    with store:
        blob = exported_member(run_id, member=args.member, step=args.step, store=store)
    make_parents(args.out)  # after every check: a bad run, member or step makes no directory
    save_atomic(blob, Path(args.out))
    step = "latest" if args.step is None else f"step {args.step}"
    print(f"wrote {run_id}/{args.member} ({step}) to {args.out}")
    print("load it with: groklab.load_exported(PATH) -> (model, task)")
    return 0
