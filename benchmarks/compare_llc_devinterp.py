"""groklab's LLC estimator against devinterp's at the same settings (issue 25).

Trains (or reuses, from `--store`) one nanda2023 run of x + y mod p (weight decay 1, full
batch), then at three kept checkpoints (memorized, halfway, grokked: `pick_steps`) estimates
the local learning coefficient twice at the sampler's current defaults (`SGLDSpec()`: step
size, localization, n beta = n / log n, chains, burn-in, draws): with
`groklab.measures.llc.llc_measure`, as `groklab measure` stores it, and with devinterp's
`estimate_learning_coeff_with_summary` and its SGLD, on the same weights, the same training
set as one full batch, the same mean cross-entropy and the same settings. The two samplers
draw their noise from different streams, so the estimates agree only up to Monte Carlo
error: the table gives both means, both standard deviations over chains, the difference in
standard errors of the means (|a - b| / sqrt(sd_a^2 / C + sd_b^2 / C)) and both split-R-hats
and drifts (`groklab.measures.chains`, computed for devinterp's traces too).

With `--noise-off-step S` it also runs one chain of each sampler with the noise removed
(devinterp: `noise_level=0`; groklab: `torch.randn` returns zeros while its sampler runs) for
burn-in + draws steps, every step kept, so both follow the same deterministic path, and
prints the largest difference between their losses at any step.

devinterp is not a dependency of groklab; run this from an environment that has it and
groklab's own dependencies (torch at constraints.txt's pin):

    python benchmarks/compare_llc_devinterp.py --p 59 --train-fraction 0.5 --steps 3000 \
        --noise-off-step 300
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from unittest import mock

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from common import busy_seconds, machine_info, markdown_table
from groklab.loader import MemberTask, load
from groklab.measures.chains import relative_drift, split_rhat
from groklab.measures.llc import SGLDSpec, default_n_beta, llc_measure, member_llc
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore


@dataclass(frozen=True)
class Estimate:
    llc: float  # mean over chains and draws
    std: float  # standard deviation of the chains' own estimates (ddof 1)
    rhat: float
    drift: float
    seconds: float
    other_cpu: float  # cores other processes used meanwhile


def nanda_spec(p: int, train_fraction: float, steps: int, seed: int) -> RunSpec:
    """What `groklab train --op add --p P --model nanda2023 --train-fraction F
    --weight-decay 1 --batch-size full --eval-every 50` trains."""
    return RunSpec(
        data=DataSpec(op="add", p=p, layout="x_y_eq"),
        model=PRESETS["nanda2023"],
        train=TrainSpec(steps=steps, batch_size="full", eval_every=50),
        members=members_from(seed=seed, train_fraction=train_fraction, lr=1e-3, weight_decay=1.0),
    )


def pick_steps(curves: dict[str, np.ndarray], kept: list[int]) -> list[int]:
    """Kept steps at 99 % train accuracy (memorized), at 99 % validation (grokked, or the
    last kept step) and the kept step nearest halfway between them."""
    steps, train_acc, val_acc = curves["step"], curves["train_acc"][0], curves["val_acc"][0]

    def first_kept(acc: np.ndarray) -> int:
        hit = np.flatnonzero(acc >= 0.99)
        at = int(steps[hit[0]]) if hit.size else kept[-1]
        return min((s for s in kept if s >= at), default=kept[-1])

    lo, hi = first_kept(train_acc), first_kept(val_acc)
    mid = min(kept, key=lambda s: abs(s - (lo + hi) / 2))
    return sorted({lo, mid, hi})


def train_set(task: MemberTask) -> tuple[Tensor, Tensor]:
    return task.inputs[task.train_mask], task.targets[task.train_mask]


def mean_cross_entropy(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    inputs, targets = batch
    return F.cross_entropy(model(inputs), targets)  # [N, V] logits at the answer position


def devinterp_run(
    model: nn.Module, task: MemberTask, spec: SGLDSpec, *, seed: int, noise: bool = True
) -> dict:
    """devinterp's summary at the settings of `spec` ("llc/mean", "llc/std", "loss/trace"
    [C, draws], ...) and "init_loss", L_n(w*) as its sampler computed it."""
    from devinterp.slt.sampler import estimate_learning_coeff_with_summary
    from devinterp.utils import get_init_loss_multi_batch

    inputs, targets = train_set(task)
    n = int(inputs.shape[0])
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=n, shuffle=False)  # one batch
    n_beta = default_n_beta(n) if spec.n_beta is None else spec.n_beta
    kwargs = {"lr": spec.epsilon, "localization": spec.gamma, "nbeta": n_beta}
    if not noise:
        kwargs["noise_level"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation and "nbeta passed" notices
        init_loss = get_init_loss_multi_batch(loader, spec.chains, model, mean_cross_entropy, "cpu")
        out = estimate_learning_coeff_with_summary(
            copy.deepcopy(model),
            loader,
            evaluate=mean_cross_entropy,
            optimizer_kwargs=kwargs,
            num_chains=spec.chains,
            num_draws=spec.draws,
            num_burnin_steps=spec.burn_in,
            init_loss=init_loss,
            seed=seed,
            verbose=False,
        )
    return {**out, "init_loss": init_loss}


def rhat_and_drift(losses: np.ndarray, init_loss: float, n_beta: float) -> tuple[float, float]:
    """groklab's split-R-hat and drift of devinterp's loss traces [C, draws]."""
    traces = n_beta * (np.asarray(losses, dtype=np.float64) - init_loss)  # [C, draws]
    t = torch.from_numpy(traces.T[:, :, None])  # [draws, C, 1]
    return float(split_rhat(t)[0]), float(relative_drift(t)[0])


@contextlib.contextmanager
def metered():
    """Yields a dict that gets `seconds` and `other_cpu` (cores other processes used)."""
    got: dict[str, float] = {}
    busy0, own0, t0 = busy_seconds()[0], time.process_time(), time.perf_counter()
    yield got
    got["seconds"] = time.perf_counter() - t0
    own = time.process_time() - own0
    got["other_cpu"] = max(0.0, busy_seconds()[0] - busy0 - own) / got["seconds"]


def estimate_both(model: nn.Module, task: MemberTask, spec: SGLDSpec) -> dict[str, Estimate]:
    seed = task.spec.members[task.member].seed
    with metered() as meter:
        ours = llc_measure(model, task, spec)
    grok = Estimate(ours["llc"], ours["llc_std"], ours["llc_rhat"], ours["llc_drift"], **meter)
    with metered() as meter:
        out = devinterp_run(model, task, spec, seed=seed)
    rhat, drift = rhat_and_drift(out["loss/trace"], out["init_loss"], ours["llc_n_beta"])
    dev = Estimate(out["llc/mean"], out["llc/std"], rhat, drift, **meter)
    return {"groklab": grok, "devinterp": dev}


def noise_off_difference(model: nn.Module, task: MemberTask, spec: SGLDSpec) -> tuple[float, ...]:
    """One noiseless chain of each, every step kept: (largest |loss difference|, the largest
    loss, the two estimates)."""
    one = replace(spec, chains=1, burn_in=0, draws=spec.burn_in + spec.draws)

    def zeros(*shape, generator=None, dtype=None, **_):
        return torch.zeros(*shape, dtype=dtype)

    with mock.patch.object(torch, "randn", zeros):
        ours = member_llc(model, task, one)
    our_losses = ours.losses[:, 0, 0].double().numpy()  # [draws]
    theirs = devinterp_run(model, task, one, seed=0, noise=False)
    diff = float(np.abs(our_losses - theirs["loss/trace"][0]).max())
    return diff, float(our_losses.max()), float(ours.llc[0]), theirs["llc/mean"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--p", type=int, default=59)
    parser.add_argument("--train-fraction", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=3000, help="training steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-every", type=int, default=100, help="keep a checkpoint every N")
    parser.add_argument("--checkpoints", default="", help="steps to measure, e.g. 200,800,2000")
    parser.add_argument("--store", default="", help="run store to train into or reuse (temp)")
    parser.add_argument("--noise-off-step", type=int, default=-1, help="a step for the check")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with contextlib.ExitStack() as stack:
        root = args.store or stack.enter_context(tempfile.TemporaryDirectory())
        store = stack.enter_context(RunStore(root))
        run(args, store)


def run(args: argparse.Namespace, store: RunStore) -> None:
    spec = nanda_spec(args.p, args.train_fraction, args.steps, args.seed)
    t0 = time.perf_counter()
    result = train(spec, store, device="cpu", keep_checkpoints=f"every:{args.keep_every}")
    kept = sorted(store.kept_checkpoints(spec.run_id))
    print(f"{machine_info()}; load average {os.getloadavg()[0]:.2f}")
    print(f"run {spec.run_id}: {result.step} steps in {time.perf_counter() - t0:.0f} s")
    print(f"99 % train at {result.steps_to_train[0]}, 99 % validation at {result.steps_to_val[0]}")
    steps = [int(s) for s in args.checkpoints.split(",")] if args.checkpoints else None
    steps = steps or pick_steps(result.curves, kept)
    sampler = SGLDSpec()
    print(f"sampler: {sampler}\n")
    header = ["step", "train / val acc", "estimator", "llc", "std (chains)", "R-hat", "drift"]
    header += ["difference / SE", "s", "other cores"]
    rows = []
    for step in steps:
        model, task = load(spec.run_id, 0, step, store)
        acc = task.evaluate(model)
        both = estimate_both(model, task, sampler)
        g, d = both["groklab"], both["devinterp"]
        se = math.sqrt((g.std**2 + d.std**2) / sampler.chains)
        for name, e in both.items():
            rows.append(
                [
                    str(step),
                    f"{acc['train_acc']:.3f} / {acc['val_acc']:.3f}",
                    name,
                    f"{e.llc:.1f}",
                    f"{e.std:.1f}",
                    f"{e.rhat:.2f}",
                    f"{e.drift:+.3f}",
                    f"{abs(g.llc - d.llc) / se:.2f}" if name == "devinterp" else "",
                    f"{e.seconds:.0f}",
                    f"{e.other_cpu:.2f}",
                ]
            )
        print(markdown_table(header, rows[-2:]), flush=True)
    print("\n" + markdown_table(header, rows))
    if args.noise_off_step >= 0:
        model, task = load(spec.run_id, 0, args.noise_off_step, store)
        diff, top, ours, theirs = noise_off_difference(model, task, sampler)
        print(
            f"\nnoise off, step {args.noise_off_step}, one chain of "
            f"{sampler.burn_in + sampler.draws} steps: largest |loss difference| at any step "
            f"{diff:.2e} (largest loss {top:.4g}); "
            f"llc {ours:.4f} (groklab) vs {theirs:.4f} (devinterp)"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
