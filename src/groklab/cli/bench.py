"""`groklab bench [--quick|--paper] [--tasks A,B] [--methods X,Y] [--seeds N] --out DIR` and
`groklab bench --list`: the steps-to-grok benchmark (groklab.bench)."""

from __future__ import annotations

import argparse
import shlex

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

DEFAULT_SEEDS = {"paper": 10, "quick": 5, "micro": 2}


def add_bench_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="steps to grok: tasks x methods x seeds against matched baselines",
        **with_example("groklab bench --quick --tasks prieto-add --out bench"),
    )
    p.add_argument("--list", action="store_true", help="list the tasks and methods")
    add_size_flags(
        p,
        {
            "quick": "each task shrunk to run on 2 CPU cores in about 20 minutes in all (default)",
            "paper": "the papers' sizes, 10 seeds (CPU core-hours per task: see --list)",
            "micro": "smoke-test size: seconds, numbers meaningless",
        },
    )
    p.add_argument("--tasks", help="comma-separated task names (default: all)")
    p.add_argument("--methods", help="comma-separated method names (default: all)")
    p.add_argument(
        "--seeds", type=int, help="seeds per (task, method) (default 5; --paper 10; --micro 2)"
    )
    p.add_argument("--out", help=f"{OUT_DIR_HELP}: bench.md, bench.csv and bench.png go there")
    add_sweep_flags(p)
    p.set_defaults(func=cmd_bench)


def _names(text: str | None, known: dict, what: str) -> list[str]:
    if text is None:
        return list(known)
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise GroklabError(f"--{what} {text!r} has an empty name; allowed: {', '.join(known)}")
    return list(dict.fromkeys(names))


def listing(size: str) -> str:
    from groklab.bench import METHODS, TASKS

    lines = ["tasks:"]
    for t in TASKS.values():
        s = t.size(size)
        lines.append(f"  {t.name:<22} {t.title}; {size} budget {s.steps:,} steps")
        if t.shrunk(size):
            lines.append(f"  {'':<22} shrunk: {t.shrunk(size)}")
        lines.append(f"  {'':<22} paper size: {t.compute}")
    lines.append("methods:")
    lines += [f"  {m.name:<22} {m.label}" for m in METHODS.values()]
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from groklab.bench import METHODS, TASKS, check_selection, run_bench, write_bench
    from groklab.progress import ProgressDisplay

    if args.list:
        print(listing(args.size))
        return 0
    if args.out is None:
        raise GroklabError("--out DIR is required: bench.md, bench.csv and bench.png go there")
    tasks = _names(args.tasks, TASKS, "tasks")
    methods = _names(args.methods, METHODS, "methods")
    seeds = DEFAULT_SEEDS[args.size] if args.seeds is None else args.seeds
    # unknown names, seeds < 1, a method that does not apply: before anything else
    check_selection(tasks, methods, seeds, args.size)
    out = make_out_dir(args.out, create=False)
    ready = preflight(args)  # a bad backend, mirror or --workers fails before anything runs
    device, threads = ready.device, ready.threads
    print(
        f"bench, {args.size} size: {len(tasks)} tasks x {len(methods)} methods x {seeds} seeds, "
        f"on {device}, {threads}",
        flush=True,
    )
    bar = ProgressDisplay(unit="member-step", eta=False)  # most runs stop long before budget
    with out_dir_made(out):
        try:
            result = run_bench(
                tasks,
                methods,
                size=args.size,
                seeds=seeds,
                store_root=ready.root,
                out_dir=out,
                backend=ready.backend,
                options=ready.options,
                progress=bar.sweep,
            )
        finally:
            bar.close()
        command = "groklab " + " ".join(shlex.quote(a) for a in (args.argv or []))
        paths = write_bench(result, out, command=command if args.argv else "")
    print((out / "bench.md").read_text())
    for path in paths:
        print(f"wrote {path}")
    return 0
