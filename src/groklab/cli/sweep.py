"""`groklab sweep FILE.toml`: run a grid of specs as populations and write one CSV row per point.

Populations already done in the store are reused, so running a sweep again (or a sweep that
shares populations with an earlier one) trains only what is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_sweep_command(sub: argparse._SubParsersAction) -> None:
    from groklab.cli.common import (
        OUT_FILE_HELP,
        add_rewind_flag,
        add_sweep_flags,
        with_example,
    )
    from groklab.sweep.grid import MAX_RUNS
    from groklab.sweep.registry import BACKENDS

    sweep = sub.add_parser(
        "sweep",
        help="run a grid of specs (a TOML file with [grid]) and write a CSV of results",
        **with_example("groklab sweep fraction.toml --workers 2 --out results/fraction.csv"),
    )
    sweep.add_argument("file", help="sweep file: a run file plus [grid] (and optional [sweep])")
    sweep.add_argument(
        "--out",
        metavar="FILE",
        help=f"CSV {OUT_FILE_HELP}; one row per point (default: FILE with .csv for .toml)",
    )
    sweep.add_argument(
        "--max-runs",
        type=int,
        metavar="N",
        help=f"allow a grid of up to N points (default: the file's [sweep] max_runs, else "
        f"{MAX_RUNS:,}); a larger grid is refused, counted before it is expanded",
    )
    add_sweep_flags(
        sweep,
        backend_help=f"one of: {', '.join(BACKENDS)} (default: the file's [sweep] backend, "
        "else local)",
    )
    add_rewind_flag(sweep)
    sweep.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from groklab.cli.common import (
        backend_flags,
        check_out_dir,
        make_parents,
        preflight,
        resume_hint,
        store_root,
    )
    from groklab.progress import ProgressDisplay
    from groklab.store import RunStore
    from groklab.sweep import expand, load_sweep, pack, run_sweep, write_rows_csv
    from groklab.sweep.run import check_populations
    from groklab.train import TrainingInterrupted

    backend_flags(args)  # --workers 0 too, before the file is read
    store_root(args)  # --store '' too, before the file is read
    sweep = load_sweep(args.file, max_runs=args.max_runs, progress=_planning)
    ready = preflight(  # a bad mirror or backend fails before anything trains
        args,
        default_backend=sweep.backend,
        backend_defaults=sweep.options_of,
    )
    root, backend, device, threads = ready.root, ready.backend, ready.device, ready.threads
    out = Path(args.file).with_suffix(".csv") if args.out is None else args.out
    check_out_dir(out, create=False)  # '' and a directory are refused before anything runs
    out = Path(out)
    populations = pack(expand(sweep), sweep.max_members)
    check_populations(populations)  # every task builds, before any file is made
    reused = set()
    if (root / "runs.sqlite").is_file():  # no store yet: nothing done, and none made here
        with RunStore(root) as store:
            reused = {p.run_id for p in populations if _is_done(store, p.run_id)}
    print(
        f"sweep {args.file}: {sweep.n_points} points in {len(populations)} populations "
        f"({len(reused)} already done) on {device}, {threads}, store {root}",
        flush=True,
    )
    may_stop_early = any(spec.train.stop_at_val_acc > 0 for spec in populations)
    with ProgressDisplay(unit="member-step", eta=not may_stop_early) as bar:
        try:
            result = run_sweep(
                sweep,
                root,
                backend=backend,
                options=ready.options,
                progress=bar.sweep,
                rewind=args.rewind,
            )
        except TrainingInterrupted as e:
            bar.close()
            print(
                f"interrupted in run {e.run_id} at step {e.step}; saved. Resume with:\n"
                f"  {resume_hint(args.argv)}"
            )
            return 130
    for spec in populations:
        print(_population_line(spec, result.where(run_id=spec.run_id).rows, spec.run_id in reused))
    make_parents(out)
    write_rows_csv(result.rows, out)
    print(f"wrote {len(result.rows)} rows to {out}")
    return 0


def _planning(done: int, total: int) -> None:
    """Planning a large grid takes a while: say how far it is (on stderr, one line)."""
    import sys

    if total >= 2_000:
        end = "\n" if done == total else ""
        sys.stderr.write(f"\rplanning the grid: {done:,} / {total:,} points{end}")
        sys.stderr.flush()


def _is_done(store, run_id: str) -> bool:
    record = store.get_run(run_id)
    return record is not None and record.status == "done"


def _population_line(spec, rows: list[dict], reused: bool) -> str:
    import numpy as np

    steps = np.array([row["steps_to_val"] for row in rows], dtype=np.float64)
    reached = steps[np.isfinite(steps)]
    median = f" (median step {int(np.median(reached))})" if reached.size else ""
    done = max((row["steps_done"] for row in rows), default=0)
    return (
        f"{spec.run_id} {spec.n_members} members {spec.summary()}: "
        f"{'reused' if reused else 'trained'} to step {done}, "
        f"99% val reached by {reached.size}/{len(rows)}{median}"
    )
