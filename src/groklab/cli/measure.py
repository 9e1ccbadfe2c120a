"""`groklab measure RUN [--measures a,b]`: measures at every kept checkpoint, into the store."""

from __future__ import annotations

import argparse
import sys

from groklab.cli.common import OUT_DIR_HELP, add_store, open_run, out_dir_made, with_example
from groklab.errors import GroklabError


def add_measure_command(sub: argparse._SubParsersAction) -> None:
    from groklab.measures import MEASURES

    measure = sub.add_parser(
        "measure",
        help="compute measures (Fourier, restricted loss, weight spectra, attention heads, ...) at "
        "every kept checkpoint",
        description="Compute measures of every member at every kept checkpoint of a run "
        "(--keep-checkpoints when training) and at its latest state, and store them; a second "
        "call resumes, skipping what is stored (the llc is recomputed where its --llc-* "
        "settings changed). Read them with groklab curves RUN --all or groklab plot RUN "
        "--measures NAMES. When llc chains have not settled (R-hat > 1.1 or |drift| > 0.05, or "
        "diverged) one warning line names the steps and members and the --llc-* flag to "
        "change; --calibrate-llc draws the llc over a grid of step sizes and n beta at one "
        "checkpoint to choose them. restricted_loss is Nanda et al.'s definition (the final "
        "model's key frequencies at every step; stored as *_final_keys), "
        "restricted_loss_step_keys each step's own. Measures: "
        + "; ".join(f"{m.name}: {m.doc}" for m in MEASURES.values()),
        **with_example(
            "groklab measure r-1a2b3c --measures fourier_embed,restricted_loss\n"
            "  groklab measure r-1a2b3c --measures llc --llc-draws 1000\n"
            "  groklab measure r-1a2b3c --calibrate-llc --epsilons 1e-5,1e-4,1e-3 "
            "--n-betas 10,100,1000 --out llc-cal"
        ),
    )
    measure.add_argument("run", help="run id (or a unique prefix)")
    measure.add_argument(
        "--measures",
        metavar="NAME,...",
        help=f"which ones (default: all that apply to the run); one of {', '.join(MEASURES)}",
    )
    add_sampler_flags(measure)
    add_calibration_flags(measure)
    add_store(measure)
    measure.set_defaults(func=cmd_measure)


def add_calibration_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "llc calibration (CSV, PNG and traces to --out; nothing to the store)"
    )
    group.add_argument(
        "--calibrate-llc",
        action="store_true",
        help="instead of measuring, estimate the llc of one member at one checkpoint over a "
        "grid of --epsilons x --n-betas (the other --llc-* flags apply to every cell) and draw "
        "each cell's estimate, R-hat and drift, and its trace",
    )
    group.add_argument(
        "--epsilons",
        metavar="EPS,...",
        default="1e-5,1e-4,1e-3",
        help="step sizes of the grid (default 1e-5,1e-4,1e-3)",
    )
    group.add_argument(
        "--n-betas",
        metavar="NBETA,...",
        default="10,100,1000",
        help="n beta of the grid (default 10,100,1000)",
    )
    group.add_argument("--member", type=int, default=0, help="which member (default 0)")
    group.add_argument("--step", type=int, help="which kept step (default: the latest)")
    group.add_argument("--out", metavar="DIR", help=f"calibration {OUT_DIR_HELP}")


def add_sampler_flags(parser: argparse.ArgumentParser) -> None:
    """--llc-epsilon, --llc-gamma, --llc-n-beta, --llc-chains, --llc-draws, --llc-burn-in: the
    llc measure's SGLD sampler, each flag one SGLDSpec field."""
    from groklab.measures.llc_spec import SGLDSpec

    default = SGLDSpec()
    helps = {
        "epsilon": f"SGLD step size (default {default.epsilon:g})",
        "gamma": f"strength of the pull back to the trained weights (default {default.gamma:g})",
        "n_beta": "inverse temperature times the number of training examples (default n / log n)",
        "chains": f"chains per member (default {default.chains})",
        "draws": f"draws kept per chain (default {default.draws})",
        "burn_in": f"steps discarded before the draws (default {default.burn_in})",
    }
    group = parser.add_argument_group("llc sampler (stored beside each estimate as llc_<field>)")
    for field, text in helps.items():
        kind = int if field in ("chains", "draws", "burn_in") else float
        flag = "--llc-" + field.replace("_", "-")
        group.add_argument(flag, dest=f"llc_{field}", type=kind, metavar=field.upper(), help=text)


def sampler_from_args(args: argparse.Namespace):
    """The SGLDSpec the --llc-* flags give (None when none is given: SGLDSpec's defaults); a
    bad value is one line naming its flag."""
    from groklab.errors import SpecError
    from groklab.measures.llc_spec import SGLDSpec

    given = {
        field: getattr(args, f"llc_{field}")
        for field in ("epsilon", "gamma", "n_beta", "chains", "draws", "burn_in")
        if getattr(args, f"llc_{field}") is not None
    }
    if not given:
        return None
    try:
        return SGLDSpec(**given)
    except SpecError as e:  # "epsilon=0.0 is ..." -> "--llc-epsilon=0.0 is ..."
        field, rest = str(e).split("=", 1)
        raise SpecError(f"--llc-{field.replace('_', '-')}={rest}") from None


def cmd_measure(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from groklab.measures.run import choose_measures, measure_run, run_spec

    if args.calibrate_llc:
        return cmd_calibrate_llc(args)
    for flag in ("out", "step"):
        if getattr(args, flag) is not None:
            raise GroklabError(f"--{flag} is a flag of --calibrate-llc, which is not given")
    names = None if args.measures is None else [n.strip() for n in args.measures.split(",")]
    sampler = sampler_from_args(args)
    store, run_id = open_run(args)
    store.check_writable()  # measures are written into the store: refuse before computing
    chosen = choose_measures(run_spec(store, run_id), names)  # fails before the bar shows
    if sampler is not None and "llc" not in [m.name for m in chosen]:
        raise GroklabError("--llc-* set the llc measure's sampler, but --measures leaves llc out")
    with (
        store,
        store.run_lock(run_id),  # a run another process writes is refused before the bar
        tqdm(desc=f"measure {run_id}", unit="ckpt", file=sys.stderr) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = measure_run(store, run_id, names, llc=sampler, progress=progress)
        warning = llc_warning(store, run_id, sampler) if "llc" in [m.name for m in chosen] else None
    if warning is not None:  # after the bar, so that the line stands alone
        sys.stderr.write(f"groklab: warning: {warning}\n")
    print(
        f"{run_id}: {len(result.steps)} checkpoints, {result.computed} (step, measure) computed, "
        f"{result.skipped} already stored"
    )
    return 0


def llc_warning(store, run_id: str, sampler) -> str | None:
    """One line naming the checkpoints and members whose llc chains have not settled
    (groklab.measures.chains.unsettled) and the flag to change; None when all have."""
    import numpy as np

    from groklab.measures.chains import DRIFT_LIMIT, RHAT_LIMIT, unsettled
    from groklab.measures.llc_spec import SGLDSpec

    sampler = sampler or SGLDSpec()
    got = store.read_measures(run_id, ["llc", "llc_std", "llc_rhat", "llc_drift", "llc_draws"])
    measured = np.isfinite(got["llc_draws"])  # [M, S] an estimate was made (settings stored)
    rhat, drift, llc = got["llc_rhat"], got["llc_drift"], got["llc"]
    bad = unsettled(rhat, drift, llc) & measured
    if not bad.any():
        return None
    places = []
    for s in np.flatnonzero(bad.any(0)):
        members = [str(m) for m in np.flatnonzero(bad[:, s])]
        label = "member " if len(members) == 1 else "members "
        places.append(f"step {got['step'][s]} ({label}{', '.join(members)})")
    where = ", ".join(places[:4]) + (f" and {len(places) - 4} more" if len(places) > 4 else "")
    advice = []
    with np.errstate(invalid="ignore"):
        if (bad & ~np.isfinite(llc)).any():
            advice.append(f"lower --llc-epsilon (now {sampler.epsilon:g}): chains diverged")
        if (bad & (np.abs(drift) > DRIFT_LIMIT)).any():
            advice.append(f"raise --llc-burn-in (now {sampler.burn_in}): chains still trend")
        if (bad & (rhat > RHAT_LIMIT) & ~(np.abs(drift) > DRIFT_LIMIT)).any():
            advice.append(f"raise --llc-draws (now {sampler.draws}): chains disagree")
    worst_rhat = np.max(np.where(bad & np.isfinite(rhat), rhat, -np.inf))
    worst_drift = np.max(np.where(bad & np.isfinite(drift), np.abs(drift), -np.inf))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = got["llc_std"] / np.abs(llc)  # the chains' disagreement, relative
    worst_spread = np.max(np.where(bad & np.isfinite(spread), spread, -np.inf))
    return (
        f"llc chains have not settled at {where}: R-hat up to {worst_rhat:.2f}, |drift| up to "
        f"{worst_drift:.2f} (settled: R-hat <= {RHAT_LIMIT}, |drift| <= {DRIFT_LIMIT}; chains' "
        f"spread up to {worst_spread:.0%} of the estimate); " + "; ".join(advice)
    )


def cmd_calibrate_llc(args: argparse.Namespace) -> int:
    """The llc over eps x n beta at one checkpoint of one member: CSV, PNG and traces."""
    from tqdm import tqdm

    from groklab.loader import load
    from groklab.measures.llc_calibration import calibrate_llc, check_grid
    from groklab.measures.run import choose_measures, run_spec

    if args.measures is not None or args.llc_epsilon is not None or args.llc_n_beta is not None:
        raise GroklabError(
            "--calibrate-llc takes its grid from --epsilons and --n-betas; "
            "leave out --measures, --llc-epsilon and --llc-n-beta"
        )
    if args.out is None:
        raise GroklabError("--calibrate-llc needs --out DIR for its CSV, PNG and traces")
    epsilons, n_betas = _numbers("--epsilons", args.epsilons), _numbers("--n-betas", args.n_betas)
    check_grid(epsilons, n_betas)
    sampler = sampler_from_args(args)
    store, run_id = open_run(args)
    with store:
        choose_measures(run_spec(store, run_id), ["llc"])  # a run llc does not apply to
        model, task = load(run_id, args.member, args.step, store=store)
    with (
        out_dir_made(args.out) as out,  # made now, removed again if the sweep fails
        tqdm(desc=f"calibrate llc {run_id}", unit="cell", file=sys.stderr) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = calibrate_llc(
            model, task, epsilons=epsilons, n_betas=n_betas, sampler=sampler, progress=progress
        )
        _write_calibration(result, out, f"{run_id}/{task.member} step {task.step}")
    settled = [c for c in result.cells if not c.diverged and _is_settled(c)]
    print(
        f"{run_id}/{task.member} step {task.step}: {len(result.cells)} cells, "
        f"{len(settled)} settled, {sum(c.diverged for c in result.cells)} diverged; wrote "
        f"{out / 'llc_calibration.csv'}, {out / 'llc_calibration.png'}, "
        f"{out / 'llc_traces.npz'}"
    )
    return 0


def _numbers(flag: str, text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GroklabError(f"{flag} {text!r} is not a list of numbers, e.g. 1e-5,1e-4") from None


def _is_settled(cell) -> bool:
    from groklab.measures.chains import DRIFT_LIMIT, RHAT_LIMIT

    return cell.rhat <= RHAT_LIMIT and abs(cell.drift) <= DRIFT_LIMIT


def _write_calibration(result, out, title: str) -> None:
    import io

    import numpy as np

    from groklab.files import write_atomic
    from groklab.measures.llc_calibration import write_calibration_csv
    from groklab.plots.llc import calibration_figure
    from groklab.plots.style import save_figure

    write_calibration_csv(result, out / "llc_calibration.csv")
    save_figure(
        calibration_figure(result, title=f"llc calibration, {title}"), out / "llc_calibration.png"
    )
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        traces=result.traces,
        epsilons=np.asarray(result.epsilons),
        n_betas=np.asarray(result.n_betas),
    )
    write_atomic(out / "llc_traces.npz", lambda f: f.write(buffer.getvalue()), binary=True)
