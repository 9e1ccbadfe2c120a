"""CLI commands over runs: `train`, `runs`, `curves`, `plot`.

`groklab train` flags are generated from the spec dataclasses, so a field's name is its flag
(`train_fraction` -> `--train-fraction`), its TOML key and its store column: one name per concept.
Member fields take comma-separated lists, one value per member; `--seeds 0-7` makes 8 members.
"""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any

from groklab.cli.common import (
    add_keep_flag,
    add_mirror_flags,
    add_store,
    build_mirrors,
    check_out_dir,
    keep_rule,
    open_run,
    open_store,
    resume_hint,
    store_root,
)
from groklab.config import field_types
from groklab.errors import GroklabError
from groklab.spec import MEMBER_FIELDS, PRESETS, SECTIONS, MemberSpec


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; allowed: true, false")


def _number_or_rule(text: str) -> int | float | str:
    """'512' -> 512, '0.25' -> 0.25 (a fraction), 'full' -> 'full'."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _flag_type(types: tuple[type, ...]) -> Any:
    if any(typing.get_origin(t) is tuple for t in types):
        return str  # 'a,b': the spec splits a list of names
    if bool in types:
        return _bool
    if str in types and int in types:
        return _number_or_rule
    return types[0]


def add_spec_flags(parser: argparse.ArgumentParser) -> None:
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"[{section}]")
        for name, types in field_types(cls).items():
            group.add_argument(
                f"--{name.replace('_', '-')}",
                dest=f"{section}.{name}",
                metavar=name.upper(),
                type=_flag_type(types),
                default=argparse.SUPPRESS,
                help=f"default: {getattr(cls(), name)}",
            )
    members = parser.add_argument_group("[members] one value, or a comma-separated list per member")
    members.add_argument(
        "--seeds",
        dest="members.seed",
        metavar="SEEDS",
        default=argparse.SUPPRESS,
        help="e.g. 0, 0-7 or 0,3,5 (default: 0)",
    )
    defaults = MemberSpec()
    for name in MEMBER_FIELDS[1:]:
        members.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"members.{name}",
            metavar=name.upper(),
            default=argparse.SUPPRESS,
            help=f"default: {getattr(defaults, name)}",
        )


def spec_from_args(args: argparse.Namespace):
    from groklab.config import load_spec, spec_from_dict, spec_to_dict

    d: dict[str, dict] = spec_to_dict(load_spec(args.config)) if args.config else {}
    if args.model:  # the preset replaces the config's [model]; model flags still override it
        d["model"] = {"preset": args.model}
    for key, value in vars(args).items():
        section, _, name = key.partition(".")
        if not name:
            continue
        if section == "members":
            value = value if name == "seed" else [_member_value(name, v) for v in value.split(",")]
            d.setdefault("members", {})[name] = value
        else:
            d.setdefault(section, {})[name] = value
    if "members" in d and isinstance(d["members"], dict):
        # per-field lists from a config and single flags must broadcast against each other
        d["members"] = {
            k: (v[0] if isinstance(v, list) and len(set(map(str, v))) == 1 else v)
            for k, v in d["members"].items()
        }
    return spec_from_dict(d)


def _member_value(name: str, text: str) -> int | float:
    """One value of a member flag, as its field's type (`--n-outliers` is an int)."""
    kind = field_types(MemberSpec)[name][0]
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise GroklabError(f"--{name.replace('_', '-')} value {text!r} is not {what}") from None


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a population (resumes if the spec ran before)")
    train.add_argument("--config", help="TOML run file; flags override its values")
    train.add_argument(
        "--model",
        choices=sorted(PRESETS),
        help="architecture preset (default power2022); model flags override it",
    )
    add_store(train)
    train.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda:N")
    train.add_argument("--checkpoint-every", type=int, default=1000)
    train.add_argument(
        "--threads", default="auto", help="torch CPU threads (default auto: the idle cores)"
    )
    train.add_argument(
        "--compile",
        action="store_true",
        help="run each step's forward and backward through torch.compile (not part of the run "
        "id: it changes results only by float reassociation; compiling takes a while first)",
    )
    train.add_argument("--out", help="directory for the run's curves CSV and figure")
    add_mirror_flags(train)
    add_keep_flag(train)
    add_spec_flags(train)
    train.set_defaults(func=cmd_train)

    runs = sub.add_parser("runs", help="list the runs in the store")
    add_store(runs)
    runs.set_defaults(func=cmd_runs)

    curves = sub.add_parser("curves", help="write a run's metric curves as CSV")
    curves.add_argument("run", help="run id (or a unique prefix)")
    curves.add_argument("--out", required=True)
    which = curves.add_mutually_exclusive_group()
    which.add_argument(
        "--layers",
        action="store_true",
        help="write each parameter tensor's norm (member,step,<parameter>...) instead",
    )
    which.add_argument(
        "--measures",
        metavar="NAME,...",
        help="extra columns after the metrics, in this order (e.g. norm/W_E,fourier_gini)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every measure of the run (norm/<parameter> included) as extra columns, sorted",
    )
    add_store(curves)
    curves.set_defaults(func=cmd_curves)

    plot = sub.add_parser("plot", help="draw a run's accuracy, loss and weight norm")
    plot.add_argument("run", help="run id (or a unique prefix)")
    plot.add_argument("--out", required=True)
    add_store(plot)
    plot.set_defaults(func=cmd_plot)


def cmd_train(args: argparse.Namespace) -> int:
    from groklab.perf import set_threads, tune_allocator
    from groklab.progress import ProgressDisplay
    from groklab.train import TrainingInterrupted, pick_device, train

    spec = spec_from_args(args)
    if args.checkpoint_every < 1:
        raise GroklabError(f"--checkpoint-every={args.checkpoint_every} must be a positive integer")
    set_threads(args.threads)
    if args.out and not Path(args.out).is_dir():
        raise GroklabError(f"--out {args.out!r} is not an existing directory; create it first")
    device = pick_device(args.device)
    mirrors = build_mirrors(args)  # before the store: a bad mirror writes nothing
    keep = keep_rule(args)
    tune_allocator()
    store = open_store(args)
    print(f"run {spec.run_id}: {spec.summary()} on {device}", flush=True)
    record = store.get_run(spec.run_id)
    if record is not None and record.status == "done":
        print(f"run {spec.run_id} is already done at step {record.step}; nothing to train")
    with ProgressDisplay() as bar:
        try:
            result = train(
                spec,
                store,
                device=str(device),
                checkpoint_every=args.checkpoint_every,
                sinks=[*mirrors, bar],
                compile=args.compile,
                keep_checkpoints=keep,
            )
        except TrainingInterrupted as e:
            bar.close()
            print(
                f"interrupted at step {e.step}; saved. Resume with:\n  {resume_hint(sys.argv[1:])}"
            )
            return 130
    for i, m in enumerate(spec.members):
        split = f"n_train={m.n_train}" if m.n_train else f"train_fraction={m.train_fraction}"
        scale = f" init_scale={m.init_scale}" if m.init_scale != 1.0 else ""
        print(
            f"{spec.run_id}/{i} seed={m.seed} {split} lr={m.lr} "
            f"weight_decay={m.weight_decay}{scale}: 99% train {_at(result.steps_to_train[i])}, "
            f"99% val {_at(result.steps_to_val[i])}"
        )
    if args.out:
        _write_outputs(store, spec.run_id, Path(args.out))
    return 0


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
    head = f"{'id':<13} {'status':<11} {'members':>7} {'step':>7} {'best val':>20} {'ckpts':>14}"
    print(f"{head}  spec")
    differences = run_differences([json.loads(r.spec_json) for r in runs])
    for r, differs in zip(runs, differences, strict=True):
        best = best_val_text(store.read_curves(r.run_id)["val_acc"])
        ckpts = _checkpoint_usage(store, r.run_id)
        print(
            f"{r.run_id:<13} {r.status:<11} {r.n_members:>7} {r.step:>7} {best:>20} {ckpts:>14}"
            f"  {r.summary}" + (f"; {differs}" if differs else "")
        )
    return 0


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
    check_out_dir(args.out)
    if args.layers:
        write_layer_norms_csv(store.read_layer_norms(run_id), args.out)
    elif args.measures is not None or args.all:
        extra = _extra_measures(store, run_id, args.measures)
        curves = store.read_measures(run_id, [*METRICS, *extra])
        write_curves_csv(curves, args.out, measures=extra)
    else:
        write_curves_csv(store.read_curves(run_id), args.out)
    print(f"wrote {args.out}")
    return 0


def _extra_measures(store, run_id: str, measures: str | None) -> list[str]:
    """The names of --measures (checked against the run's), or all the run's for --all."""
    from groklab.store import METRICS

    known = store.measure_names(run_id)
    if measures is None:
        return [name for name in known if name not in METRICS]
    names = [name.strip() for name in measures.split(",")]
    for name in names:
        if name not in known and name not in METRICS:
            has = ", ".join(known) if known else "none yet"
            raise GroklabError(f"--measures: run {run_id} has no measure {name!r}; it has: {has}")
    return list(dict.fromkeys(n for n in names if n not in METRICS))


def cmd_plot(args: argparse.Namespace) -> int:
    from groklab.plots.style import save_figure

    store, run_id = open_run(args)
    check_out_dir(args.out)
    save_figure(_run_figure(store, run_id), args.out)
    print(f"wrote {args.out}")
    return 0


def _run_figure(store, run_id: str):
    """The run's curves, titled by task and shared settings, members grouped by what differs."""
    import json

    from groklab.analysis.settings import member_groups, shared_settings, task_text
    from groklab.plots.curves import plot_run

    members = [m["spec"] for m in store.read_members(run_id)]
    task = task_text(json.loads(store.get_run(run_id).spec_json))
    title = f"{run_id}: {', '.join(filter(None, [task, shared_settings(members)]))}"
    return plot_run(store.read_curves(run_id), title=title, groups=member_groups(members))
