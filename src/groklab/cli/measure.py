"""`groklab measure RUN [--measures a,b]`: measures at every kept checkpoint, into the store."""

from __future__ import annotations

import argparse
import sys

from groklab.cli.common import add_store, open_run, with_example


def add_measure_command(sub: argparse._SubParsersAction) -> None:
    from groklab.measures import MEASURES

    measure = sub.add_parser(
        "measure",
        help="compute measures (Fourier, restricted loss, weight spectra, attention heads, ...) at "
        "every kept checkpoint",
        description="Compute measures of every member at every kept checkpoint of a run "
        "(--keep-checkpoints when training) and at its latest state, and store them; a second "
        "call resumes, skipping what is stored. Read them with groklab curves RUN --all or "
        "groklab plot RUN --measures NAMES. Measures: "
        + "; ".join(f"{m.name}: {m.doc}" for m in MEASURES.values()),
        **with_example("groklab measure r-1a2b3c --measures fourier_embed,restricted_loss"),
    )
    measure.add_argument("run", help="run id (or a unique prefix)")
    measure.add_argument(
        "--measures",
        metavar="NAME,...",
        help=f"which ones (default: all that apply to the run); one of {', '.join(MEASURES)}",
    )
    add_store(measure)
    measure.set_defaults(func=cmd_measure)


def cmd_measure(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from groklab.measures.run import choose_measures, measure_run, run_spec

    names = None if args.measures is None else [n.strip() for n in args.measures.split(",")]
    store, run_id = open_run(args)
    store.check_writable()  # measures are written into the store: refuse before computing
    choose_measures(run_spec(store, run_id), names)  # a bad name fails before the bar shows
    with (
        store,
        store.run_lock(run_id),  # a run another process writes is refused before the bar
        tqdm(desc=f"measure {run_id}", unit="ckpt", file=sys.stderr) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = measure_run(store, run_id, names, progress=progress)
    print(
        f"{run_id}: {len(result.steps)} checkpoints, {result.computed} (step, measure) computed, "
        f"{result.skipped} already stored"
    )
    return 0
