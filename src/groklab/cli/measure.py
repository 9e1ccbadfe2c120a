"""`groklab measure RUN [--measures a,b]`: measures at every kept checkpoint, into the store."""

from __future__ import annotations

import argparse
import sys

from groklab.cli.common import add_store, open_run, with_example
from groklab.errors import GroklabError


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
    add_sampler_flags(measure)
    add_store(measure)
    measure.set_defaults(func=cmd_measure)


def add_sampler_flags(parser: argparse.ArgumentParser) -> None:
    """--llc-epsilon, --llc-gamma, --llc-n-beta, --llc-chains, --llc-draws, --llc-burn-in: the
    llc measure's SGLD sampler, each flag one SGLDSpec field."""
    from groklab.measures.llc import SGLDSpec

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
    from groklab.measures.llc import SGLDSpec

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
    from groklab.measures.llc import SGLDSpec

    sampler = sampler or SGLDSpec()
    got = store.read_measures(run_id, ["llc", "llc_rhat", "llc_drift", "llc_draws"])
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
    return (
        f"llc chains have not settled at {where}: R-hat up to {worst_rhat:.2f}, |drift| up to "
        f"{worst_drift:.2f} (settled: R-hat <= {RHAT_LIMIT}, |drift| <= {DRIFT_LIMIT}); "
        + "; ".join(advice)
    )
