"""`groklab export RUN --member I [--step S] --out FILE.pt`: one member as a state dict + spec."""

from __future__ import annotations

import argparse

from groklab.cli.common import OUT_FILE_HELP, add_store, check_out_dir, open_run, with_example


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
    from groklab.loader import export_member

    check_out_dir(args.out)
    store, run_id = open_run(args)
    with store:
        export_member(run_id, args.out, member=args.member, step=args.step, store=store)
    step = "latest" if args.step is None else f"step {args.step}"
    print(f"wrote {run_id}/{args.member} ({step}) to {args.out}")
    print("load it with: groklab.load_exported(PATH) -> (model, task)")
    return 0
