"""CLI commands over runs: `train`, `runs`, `curves`, `plot`.

`groklab train`'s spec flags come from the spec dataclasses (cli/spec_flags.py).
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from groklab.cli.common import (
    OUT_DIR_HELP,
    OUT_FILE_HELP,
    add_device_flags,
    add_keep_flag,
    add_mirror_flags,
    add_rewind_flag,
    add_store,
    check_out_dir,
    keep_rule,
    make_out_dir,
    make_parents,
    open_run,
    open_store,
    preflight,
    resume_hint,
    store_root,
    with_example,
)
from groklab.cli.spec_flags import add_spec_flags, resolve_auto_dtype, spec_from_args
from groklab.errors import GroklabError
from groklab.files import remove_stale_temp_files
from groklab.spec import PRESETS


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="train a population (resumes if the spec ran before)",
        **with_example(
            "groklab train --op div --p 97 --seeds 0-3 --weight-decay 0.3,1,1,3 "
            "--stop-at-val-acc 0.99 --out results"
        ),
    )
    train.add_argument("--config", help="TOML run file; flags override its values")
    train.add_argument(
        "--model",
        choices=sorted(PRESETS),
        help="architecture preset (default power2022); model flags override it",
    )
    add_store(train)
    add_device_flags(train)
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=1000,
        metavar="N",
        help="save the resume point every N steps (and on Ctrl-C and at the end); not part of "
        "the run id (default 1000)",
    )
    train.add_argument(
        "--compile",
        action="store_true",
        help="run each step's forward and backward through torch.compile (not part of the run "
        "id: it changes results only by float reassociation; compiling takes a while first)",
    )
    train.add_argument(
        "--out", metavar="DIR", help=f"{OUT_DIR_HELP}: gets <run id>.csv and <run id>.png"
    )
    train.add_argument(
        "--measures",
        metavar="NAME,...",
        help="cheap measures taken at every evaluation and stored with the metrics (all: every "
        "cheap one that applies; groklab measure --help lists them)",
    )
    add_rewind_flag(train)
    add_mirror_flags(train)
    add_keep_flag(train)
    add_spec_flags(train)
    train.set_defaults(func=cmd_train)

    runs = sub.add_parser(
        "runs", help="list the runs in the store", **with_example("groklab runs --store runs")
    )
    add_store(runs)
    runs.set_defaults(func=cmd_runs)

    curves = sub.add_parser(
        "curves",
        help="write a run's metric curves as CSV",
        **with_example("groklab curves r-1a2b3c --out curves/r-1a2b3c.csv"),
    )
    curves.add_argument("run", help="run id (or a unique prefix)")
    curves.add_argument("--out", required=True, metavar="FILE", help=f"CSV {OUT_FILE_HELP}")
    which = curves.add_mutually_exclusive_group()
    which.add_argument(
        "--layers",
        action="store_true",
        help="write each parameter tensor's norm (member,step,<parameter>...) instead",
    )
    which.add_argument(
        "--measures",
        metavar="NAME,...",
        help="extra columns after the metrics, in this order (e.g. norm/W_E,fourier_gini); a "
        "name ending in / gives every measure under it (llc_trace/)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every measure of the run (norm/<parameter> included) as extra columns, sorted",
    )
    add_store(curves)
    curves.set_defaults(func=cmd_curves)

    plot = sub.add_parser(
        "plot",
        help="draw a run's accuracy, loss and weight norm",
        **with_example("groklab plot r-1a2b3c --out figures/r-1a2b3c.png"),
    )
    plot.add_argument("run", help="run id (or a unique prefix)")
    plot.add_argument("--out", required=True, metavar="FILE", help=f"PNG {OUT_FILE_HELP}")
    plot.add_argument(
        "--measures",
        metavar="NAME,...",
        help="draw these stored measures against step instead (e.g. "
        "restricted_loss_final_keys,excluded_loss_final_keys); a name ending in / draws every "
        "measure under it (fourier/embed/)",
    )
    add_store(plot)
    plot.set_defaults(func=cmd_plot)


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from groklab.progress import ProgressDisplay
    from groklab.run import train
    from groklab.train import TrainingInterrupted, pick_device
    from groklab.train.memory import check_memory
    from groklab.train.state import check_parameter_groups, make_task

    device = pick_device(args.device)
    dtype_note = resolve_auto_dtype(args, device)
    spec = spec_from_args(args)
    if args.checkpoint_every < 1:
        raise GroklabError(f"--checkpoint-every={args.checkpoint_every} must be a positive integer")
    keep_rule(args)  # a bad rule is named before the measures are built
    measures = _training_measures(spec, args.measures)
    check_memory(spec, device)  # a population that cannot fit fails before anything is made
    task = make_task(spec, torch.device("cpu"))  # so does a task it cannot build (n_train)
    check_parameter_groups(spec, task)  # and a parameter group the model does not declare
    # --out: not '', not a file, writable or makeable; before the store and the mirrors
    out = None if args.out is None else make_out_dir(args.out, create=False)
    # the store's path, the mirrors (before the store: a bad mirror writes nothing), the kept
    # checkpoints, the device, the threads and the allocator: as sweep, reproduce and bench
    ready = preflight(
        args,
        sweeps=False,
        checkpoint_every=args.checkpoint_every,
        compile=args.compile,
        measures=measures,
    )
    threads = ready.threads
    store = open_store(args)  # a garbage store fails here, before --out is made
    if out is not None:
        make_out_dir(out)
        remove_stale_temp_files(out, recursive=False)  # outputs of writers killed mid-write
    print(f"run {spec.run_id}: {spec.summary()} on {device}, {threads}", flush=True)
    if dtype_note:
        print(dtype_note, flush=True)
    record = store.get_run(spec.run_id)
    if record is not None and record.status == "done":
        print(f"run {spec.run_id} is already done at step {record.step}; nothing to train")
    with ProgressDisplay() as bar:
        try:
            result = train(
                spec, store, ready.options, sinks=[*ready.mirrors, bar], rewind=args.rewind
            )
        except TrainingInterrupted as e:
            bar.close()
            _report_interrupt(store, spec, e.step, out, args.argv)
            return 130
    for i, m in enumerate(spec.members):
        split = f"n_train={m.n_train}" if m.n_train else f"train_fraction={m.train_fraction}"
        scale = f" init_scale={m.init_scale}" if m.init_scale != 1.0 else ""
        print(
            f"{spec.run_id}/{i} seed={m.seed} {split} lr={m.lr} "
            f"weight_decay={m.weight_decay}{scale}: 99% train {_at(result.steps_to_train[i])}, "
            f"99% val {_at(result.steps_to_val[i])}"
        )
    if out is not None:
        _write_outputs(store, spec.run_id, out)
    return 0


def _training_measures(spec, measures: str | None):
    """The --measures hook for the train loop, checked before anything is written."""
    if measures is None:
        return None
    from groklab.measures.run import training_measures

    names = None if measures == "all" else [n.strip() for n in measures.split(",")]
    return training_measures(spec, names)


def _report_interrupt(store, spec, step: int, out: Path | None, argv: list[str]) -> None:
    """Each member's state, what exists so far under --out, and the command that resumes."""
    import numpy as np

    val = store.read_curves(spec.run_id)["val_acc"]  # [M, S]
    print(f"interrupted at step {step:,}; saved.")
    for i in range(spec.n_members):
        seen = val[i][np.isfinite(val[i])]
        best = f"best val {seen.max():.3f}" if seen.size else "not evaluated yet"
        print(f"  {spec.run_id}/{i}: step {step:,}, {best}")
    if out is not None and val.size:
        _write_outputs(store, spec.run_id, out)
    print(f"Resume with:\n  {resume_hint(argv)}")


def _at(step: float) -> str:
    return "not reached" if step != step else f"at step {int(step)}"


def _write_outputs(store, run_id: str, out: Path) -> None:
    from groklab.plots.style import save_figure
    from groklab.store import write_curves_csv

    write_curves_csv(store.read_curves(run_id), out / f"{run_id}.csv")
    save_figure(_run_figure(store, run_id), out / f"{run_id}.png")
    print(f"curves: {out / f'{run_id}.csv'}\nfigure: {out / f'{run_id}.png'}")


def cmd_runs(args: argparse.Namespace) -> int:
    import json

    from groklab.analysis.settings import best_val_text, run_differences

    store = open_store(args, create=False)
    runs = store.list_runs() if store is not None else []
    if not runs:
        print(f"no runs in {store_root(args)}")
        return 0
    head = f"{'id':<13} {'status':<11} {'members':>7} {'step':>16} {'best val':>20} {'ckpts':>14}"
    print(f"{head}  spec")
    differences = run_differences([json.loads(r.spec_json) for r in runs])
    for r, differs in zip(runs, differences, strict=True):
        curves = store.read_curves(r.run_id)
        best = best_val_text(curves["val_acc"])
        ckpts = _checkpoint_usage(store, r.run_id)
        step = _step_shown(curves["step"], r.step)
        print(
            f"{r.run_id:<13} {r.status:<11} {r.n_members:>7} {step:>16} {best:>20} {ckpts:>14}"
            f"  {r.summary}" + (f"; {differs}" if differs else "")
        )
    return 0


def _step_shown(steps, checkpoint_step: int) -> str:
    """The last evaluated step, and the checkpoint's when it differs: '812 (ckpt 500)'."""
    if not len(steps):
        return str(checkpoint_step)
    last = int(steps.max())
    return str(last) if last == checkpoint_step else f"{last} (ckpt {checkpoint_step})"


def _checkpoint_usage(store, run_id: str) -> str:
    """'3 / 1.2 MB': the resume point and kept checkpoints, their count and size on disk."""
    files = [store.checkpoint_path(run_id), *store.kept_checkpoints(run_id).values()]
    sizes = [f.stat().st_size for f in files if f.is_file()]
    return f"{len(sizes)} / {_bytes(sum(sizes))}"


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def cmd_curves(args: argparse.Namespace) -> int:
    from groklab.store import METRICS, write_curves_csv, write_layer_norms_csv

    store, run_id = open_run(args)
    check_out_dir(args.out, create=False)
    if args.layers:
        write = partial(write_layer_norms_csv, store.read_layer_norms(run_id))
    elif args.measures is not None or args.all:
        extra = _extra_measures(store, run_id, args.measures)  # an unknown name fails here
        curves = store.read_measures(run_id, [*METRICS, *extra])
        write = partial(write_curves_csv, curves, measures=extra)
    else:
        write = partial(write_curves_csv, store.read_curves(run_id))
    make_parents(args.out)  # after every check: a bad measure makes no directory
    write(args.out)
    print(f"wrote {args.out}")
    return 0


def _extra_measures(store, run_id: str, measures: str | None) -> list[str]:
    """The names of --measures (checked against the run's), or all the run's for --all."""
    from groklab.store import METRICS

    known = store.measure_names(run_id)
    if measures is None:
        return [name for name in known if name not in METRICS]
    names = []
    for name in (n.strip() for n in measures.split(",")):
        under = [k for k in known if k.startswith(name)] if name.endswith("/") else []
        if name.endswith("/") and not under:
            raise GroklabError(f"--measures: run {run_id} has no measure under {name!r}")
        names += under or [name]  # a name ending in / stands for every measure under it
    for name in names:
        if name not in known and name not in METRICS:
            has = ", ".join(known) if known else "none yet"
            raise GroklabError(f"--measures: run {run_id} has no measure {name!r}; it has: {has}")
    return list(dict.fromkeys(n for n in names if n not in METRICS))


def cmd_plot(args: argparse.Namespace) -> int:
    from groklab.plots.style import figure_format, save_figure

    store, run_id = open_run(args)
    check_out_dir(args.out, create=False)
    figure_format(args.out)  # a bad suffix, before anything is drawn or made
    if args.measures is not None:
        fig = _measures_figure(store, run_id, args.measures)
    else:
        fig = _run_figure(store, run_id)
    make_parents(args.out)  # after every check: a bad measure makes no directory
    save_figure(fig, args.out)
    print(f"wrote {args.out}")
    return 0


def _measures_figure(store, run_id: str, measures: str):
    """--measures: the stored measures named (a name ending in / selects those under it)."""
    from groklab.plots.measures import measures_figure

    known = store.measure_names(run_id)
    names: list[str] = []
    for name in (n.strip() for n in measures.split(",")):
        under = [k for k in known if k.startswith(name)] if name.endswith("/") else []
        if name.endswith("/") and not under:
            raise GroklabError(f"--measures: run {run_id} has no measure under {name!r}")
        names += under or _extra_measures(store, run_id, name) or [name]
    names = list(dict.fromkeys(names))
    return measures_figure(store.read_measures(run_id, names), names, title=run_id)


def _run_figure(store, run_id: str):
    """The run's curves, titled by task and shared settings, members grouped by what differs."""
    import json

    from groklab.analysis.settings import member_groups, shared_settings, task_text
    from groklab.plots.curves import plot_run

    members = [m["spec"] for m in store.read_members(run_id)]
    task = task_text(json.loads(store.get_run(run_id).spec_json))
    title = f"{run_id}: {', '.join(filter(None, [task, shared_settings(members)]))}"
    return plot_run(store.read_curves(run_id), title=title, groups=member_groups(members))
