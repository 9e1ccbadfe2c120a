"""Local learning coefficient (Lau, Furman, Wang, Murfet, Wei 2023, "Quantifying degeneracy in
singular models via the learning coefficient"), estimated by SGLD around trained weights w*.

The chains sample the tempered, localized posterior exp(-n beta L_n(w) - gamma/2 ||w - w*||^2)
with SGLD steps (full batch: the gradient of the mean training loss L_n, times n beta)

    w <- w + eps/2 * (-n beta grad L_n(w) + gamma (w* - w)) + N(0, eps)

and the estimate is lambda_hat = n beta (E[L_n(w)] - L_n(w*)), the mean over every chain's
draws after burn-in. Whether the chains have settled is read from the per-draw traces
n beta (L_n(w_t) - L_n(w*)): split-R-hat over chains and the drift between the halves of the
draws (`groklab.measures.chains`). The default inverse temperature is beta = 1 / log n
(n beta = n / log n), as the paper's. For a regular model, whose loss near w* is a positive
definite quadratic in d parameters, lambda = d / 2; degenerate directions lower it.

The sampler's settings (`SGLDSpec`) and the value names the measure stores (`SETTINGS`,
`TRACE_PREFIX`) live in llc_spec.py, which imports no torch; they are importable from here too.

Everything runs over flat [M, P] parameters with the member axis first: members are independent
(a member's loss depends only on its own row, and its noise comes from its own generator), so a
member gives the same estimate alone or in a population.

Example, a quadratic loss in d = 4 dimensions:

    >>> h = torch.ones(1, 4)
    >>> loss = lambda w: 0.5 * (h * w.pow(2)).sum(-1)                 # [C, M, P] -> [C, M]
    >>> result = sgld_llc(loss, torch.zeros(1, 4), n=1000, spec=SGLDSpec(epsilon=1e-3,
    ...                   gamma=1.0), generators=[torch.Generator().manual_seed(0)])
    >>> round(float(result.llc[0]))                                    # d / 2
    2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from groklab import rng
from groklab.measures.chains import relative_drift, split_rhat
from groklab.measures.llc_spec import SETTINGS, TRACE_BLOCKS, TRACE_PREFIX, SGLDSpec  # noqa: F401

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask
    from groklab.spec import RunSpec

# The noise stream of a member's chains: a purpose of its own, apart from groklab.rng's list
# (whose values training uses), so estimating never shifts a training stream.
LLC_NOISE = 1_000

LossFn = Callable[[Tensor], Tensor]  # w [C, M, P] -> L_n(w) [C, M], each row its own member's


@dataclass(frozen=True)
class LLCResult:
    llc: Tensor  # [M] the estimate over all chains
    llc_per_chain: Tensor  # [C, M] each chain's own estimate
    losses: Tensor  # [draws, C, M] L_n at every kept draw
    loss_at_optimum: Tensor  # [M] L_n(w*)
    n_beta: float

    @property
    def traces(self) -> Tensor:
        """[draws, C, M] n beta (L_n(w_t) - L_n(w*)): each draw's own estimate."""
        return self.n_beta * (self.losses - self.loss_at_optimum)

    @property
    def rhat(self) -> Tensor:
        """[M] split-R-hat of the traces over chains (about 1 once they have settled)."""
        return split_rhat(self.traces)

    @property
    def drift(self) -> Tensor:
        """[M] relative change of the traces' mean from the first half of the draws to the
        second (about 0 once they have settled)."""
        return relative_drift(self.traces)


def default_n_beta(n: int) -> float:
    """n / log n: beta = 1 / log n, the paper's default (n >= 2 training examples)."""
    if n < 2:
        raise ValueError(f"n={n}: the default inverse temperature needs n >= 2 examples")
    return n / math.log(n)


def sgld_llc(
    loss_fn: LossFn,
    w_star: Tensor,
    *,
    n: int,
    spec: SGLDSpec,
    generators: Sequence[torch.Generator],
) -> LLCResult:
    """lambda_hat [M] for members w_star [M, P], each with its own noise generator."""
    m, p = w_star.shape
    if len(generators) != m:
        raise ValueError(f"{len(generators)} generators for {m} members")
    n_beta = default_n_beta(n) if spec.n_beta is None else spec.n_beta
    w_star = w_star.detach()
    with torch.no_grad():
        loss_star = loss_fn(w_star[None])[0]  # [M]
    w = w_star[None].repeat(spec.chains, 1, 1)  # [C, M, P]
    kept = []
    for step in range(spec.burn_in + spec.draws):
        w.requires_grad_(True)
        loss = loss_fn(w)  # [C, M]
        (grad,) = torch.autograd.grad(loss.sum(), w)  # sum: each row keeps its own gradient
        if step >= spec.burn_in:
            kept.append(loss.detach())
        noise = torch.stack(
            [torch.randn(spec.chains, p, generator=g, dtype=w.dtype) for g in generators], 1
        )  # [C, M, P]
        with torch.no_grad():
            drift = -n_beta * grad + spec.gamma * (w_star - w)
            w = w + spec.epsilon / 2 * drift + math.sqrt(spec.epsilon) * noise
    losses = torch.stack(kept)  # [draws, C, M]
    per_chain = n_beta * (losses.mean(0) - loss_star)  # [C, M]
    return LLCResult(per_chain.mean(0), per_chain, losses, loss_star, n_beta)


def member_loss_fn(model: nn.Module, task: MemberTask) -> tuple[LossFn, Tensor, int]:
    """A loaded member's mean training loss as a function of flat weights [C, 1, P], its own
    flat weights [1, P], and n (its number of training examples)."""
    from torch.func import functional_call

    from groklab.train.losses import example_loss

    names = [name for name, _ in model.named_parameters()]
    shapes = [param.shape for _, param in model.named_parameters()]
    sizes = [param.numel() for _, param in model.named_parameters()]
    flat = torch.cat([param.detach().reshape(-1) for _, param in model.named_parameters()])
    inputs, targets = task.inputs[task.train_mask], task.targets[task.train_mask]
    kind = task.spec.train.loss

    def loss_fn(w: Tensor) -> Tensor:
        rows = []
        for chain in w[:, 0]:  # [P] each
            views = [t.view(s) for t, s in zip(chain.split(sizes), shapes, strict=True)]
            params = dict(zip(names, views, strict=True))
            out = functional_call(model, params, (inputs,))[None]  # [1, N, V]
            rows.append(example_loss(kind, out, targets[None], task.templates).mean())
        return torch.stack(rows)[:, None]  # [C, 1]

    return loss_fn, flat[None], int(inputs.shape[0])


def member_llc(model: nn.Module, task: MemberTask, spec: SGLDSpec | None = None) -> LLCResult:
    """lambda_hat of one loaded member around its weights, its noise from its own seed."""
    loss_fn, w_star, n = member_loss_fn(model, task)
    seed = task.spec.members[task.member].seed
    generator = rng.generator(seed, LLC_NOISE)
    return sgld_llc(loss_fn, w_star, n=n, spec=spec or SGLDSpec(), generators=[generator])


def applies_to(spec: RunSpec) -> bool:
    return True  # any run with a training loss


def trace_blocks(traces: Tensor, member: int = 0) -> dict[str, float]:
    """One member's traces [draws, C, M] as TRACE_BLOCKS means per chain, in draw order
    (blocks as equal as the draws allow): what a reader needs to see a chain still climbing."""
    out = {}
    for c in range(traces.shape[1]):
        chain = traces[:, c, member].double()
        for b, block in enumerate(torch.tensor_split(chain, min(TRACE_BLOCKS, len(chain)))):
            out[f"{TRACE_PREFIX}{c}/{b}"] = float(block.mean())
    return out


def llc_measure(
    model: nn.Module, task: MemberTask, sampler: SGLDSpec | None = None
) -> dict[str, float]:
    """llc (the estimate), llc_std (its spread over chains), llc_rhat and llc_drift (whether
    the chains settled, groklab.measures.chains), the sampler's settings (SETTINGS;
    llc_n_beta is the value used, n / log n unless set) and each chain's trace in TRACE_BLOCKS
    block means (llc_trace/<chain>/<block>)."""
    sampler = sampler or SGLDSpec()
    result = member_llc(model, task, sampler)
    return {
        "llc": float(result.llc[0]),
        "llc_std": float(result.llc_per_chain[:, 0].std()),
        "llc_rhat": float(result.rhat[0]),
        "llc_drift": float(result.drift[0]),
        "llc_epsilon": sampler.epsilon,
        "llc_gamma": sampler.gamma,
        "llc_n_beta": result.n_beta,
        "llc_chains": float(sampler.chains),
        "llc_draws": float(sampler.draws),
        "llc_burn_in": float(sampler.burn_in),
        **trace_blocks(result.traces),
    }
