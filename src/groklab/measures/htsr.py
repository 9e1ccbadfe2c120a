"""Heavy-tailed self-regularization (Martin & Mahoney 2021, "Implicit self-regularization in
deep neural networks"): the eigenvalues of W^T W of a trained layer follow a power law
rho(lambda) ~ lambda^-alpha in their tail, and alpha falls as the layer learns correlations
(alpha in [2, 6] for well-trained layers). Prakash & Martin 2025 ("anti-grokking", arXiv
2602.02859) report alpha < 2 and correlation traps as the herald of the late collapse of test
accuracy after grokking.

`power_law_fit(evals)` is the fit of the `weightwatcher` package (0.7.7, its own fast
estimator, the default): the eigenvalues above 1e-5, sorted; for each candidate xmin (every
eigenvalue but the largest) the continuous maximum-likelihood exponent of the n eigenvalues
x_j >= xmin (Clauset, Shalizi, Newman 2009)

    alpha = 1 + n / sum_j log(x_j / xmin)

and the Kolmogorov-Smirnov distance D = max_j |1 - (x_j / xmin)^(1 - alpha) - j / n| between
the fitted and the empirical CDF of that tail; the xmin of least D wins. With fewer than 20
eigenvalues it uses weightwatcher's small-sample variant: alpha = 1 + (n - 1) / sum log(x /
xmin) over tails of at least 8, the xmin of least D as before. Matrices with fewer
than 8 eigenvalues (min side < 8) are skipped, as weightwatcher's `min_evals` skips them.

Written here rather than imported: weightwatcher pulls in pandas, matplotlib, scikit-learn and
powerlaw, prints to stdout when imported and fitting, and silences every warning of the process;
tests/measures/test_htsr.py checks the two agree where it is installed.

`correlation_traps(w, generator)`: shuffle W's entries (which keeps their distribution and
destroys their correlations) and count the eigenvalues of the shuffled W^T W beyond the
Marchenko-Pastur bulk edge sigma^2 (1 + 1/sqrt(Q))^2 plus weightwatcher's Tracy-Widom margin
sigma^2 sqrt(Q^-1/2 edge^(2/3) M^(-2/3)), Q = N / M for W [N, M], N >= M, where sigma^2 is the
mean of the eigenvalues inside the bulk (found by iterating: a spike is left out of the mean
that places the edge). A shuffled i.i.d. matrix has none; outsized entries make spikes that
survive the shuffle. weightwatcher instead fits sigma by a kernel density of the spectrum and
pools 5 shuffles of a matrix with fewer than 100 eigenvalues, so its `num_traps` is larger.

Example, eigenvalues at the quantiles of a power law of exponent 3 fit alpha close to 3:

    >>> u = (np.arange(400) + 0.5) / 400
    >>> round(power_law_fit((1 - u) ** (-1 / 2)).alpha, 1)
    3.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from groklab import rng
from groklab.measures.spectral import weight_matrices

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask

EVALS_THRESH = 1e-5  # weightwatcher's EVALS_THRESH: smaller eigenvalues are not fitted
MIN_EVALS = 8  # weightwatcher's DEFAULT_MIN_EVALS: smaller matrices are skipped
SMALL_N = 20  # weightwatcher's SMALL_N_CUTOFF: fewer eigenvalues use the small-sample fit
SMALL_N_TAIL = 8  # the small-sample fit's least tail (its k_min)
# The shuffle of a member's matrices: a purpose of its own, apart from groklab.rng's list (whose
# values training uses) and llc's 1_000, so measuring never shifts a training stream.
TRAPS_SHUFFLE = 1_001


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float  # the exponent of rho(lambda) ~ lambda^-alpha; nan if there is nothing to fit
    xmin: float  # where the tail starts
    ks: float  # the Kolmogorov-Smirnov distance of the tail to the fitted law
    n_tail: int  # eigenvalues >= xmin


def power_law_fit(evals: np.ndarray) -> PowerLawFit:
    """weightwatcher's power-law fit of the eigenvalues `evals` [n] (any order)."""
    x = np.sort(np.asarray(evals, dtype=np.float64))
    x = x[x > EVALS_THRESH]
    if len(x) < 2:
        return PowerLawFit(math.nan, math.nan, math.nan, len(x))
    if len(x) < SMALL_N:
        return _small_n_fit(x)
    alphas, ds = _candidates(x, correction=0)
    i = int(np.argmin(ds))
    return PowerLawFit(float(alphas[i]), float(x[i]), float(ds[i]), len(x) - i)


def _tail_log_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each xmin = x[i], i < N - 1 (x sorted): the tail size n and sum_j log(x_j / xmin)."""
    logs = np.log(x)
    n = len(x) - np.arange(len(x) - 1)
    return n, np.cumsum(logs[::-1])[::-1][:-1] - n * logs[:-1]


def _candidates(x: np.ndarray, *, correction: int) -> tuple[np.ndarray, np.ndarray]:
    """For each xmin = x[i], i < N - 1: the exponent 1 + (n - correction) / sum log(x_j /
    xmin) of its tail and the tail's KS distance (1 where the exponent is <= 1)."""
    n, log_sums = _tail_log_sums(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1 + (n - correction) / log_sums
    rank = np.arange(len(x))[None, :] - np.arange(len(x) - 1)[:, None]  # [K, N] place in tail
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fitted = 1 - (x[None, :] / x[:-1, None]) ** (1 - alphas[:, None])  # the law's CDF
        gap = np.abs(fitted - rank / n[:, None])  # the empirical CDF is 0, 1/n, ..., (n-1)/n
    ds = np.where(rank >= 0, gap, 0.0).max(1)
    return alphas, np.where(alphas > 1, ds, 1.0)


def _small_n_fit(x: np.ndarray) -> PowerLawFit:
    """weightwatcher's fit for N < 20: the bias-corrected exponent, tails of at least 8, the
    xmin of least D (weightwatcher 0.7.7 also scores D - 0.868 / sqrt(n), then keeps the xmin
    of least D)."""
    alphas, ds = _candidates(x, correction=1)
    n, log_sums = _tail_log_sums(x)
    usable = (n >= SMALL_N_TAIL) & (log_sums > 1e-12) & (alphas > 1)
    if not usable.any():  # no tail of 8 distinct eigenvalues to fit
        return PowerLawFit(math.nan, math.nan, math.nan, len(x))
    i = int(np.argmin(np.where(usable, ds, np.inf)))
    return PowerLawFit(float(alphas[i]), float(x[i]), float(ds[i]), int(n[i]))


def correlation_traps(w: Tensor, generator: torch.Generator) -> int:
    """The eigenvalues of W^T W with W's entries shuffled that lie beyond the Marchenko-Pastur
    bulk edge (with weightwatcher's Tracy-Widom margin), the bulk's scale the mean of the
    eigenvalues inside it."""
    shuffled = w.flatten()[torch.randperm(w.numel(), generator=generator)].view(w.shape)
    evals = torch.linalg.svdvals(shuffled.double()).pow(2).numpy()  # [M], M = min side
    small, q = min(w.shape), max(w.shape) / min(w.shape)
    edge = (1 + 1 / math.sqrt(q)) ** 2  # in units of the bulk's scale
    cut = edge + math.sqrt(edge ** (2 / 3) * small ** (-2 / 3) / math.sqrt(q))
    bulk = evals > 0
    while bulk.any():
        traps = evals > cut * evals[bulk].mean()
        if np.array_equal(~traps & (evals > 0), bulk):
            return int(traps.sum())
        bulk = ~traps & (evals > 0)
    return 0


def fitted_matrices(model: nn.Module) -> dict[str, Tensor]:
    """The weight matrices with at least MIN_EVALS eigenvalues (min side >= 8)."""
    return {n: w for n, w in weight_matrices(model).items() if min(w.shape) >= MIN_EVALS}


# -- the registered measures: fn(model, task) -> {name: value} --------------------------------


def alpha_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`htsr_alpha/<parameter>`: the power-law exponent of each matrix's W^T W spectrum."""
    del task  # weights only
    return {
        f"htsr_alpha/{name}": power_law_fit(torch.linalg.svdvals(w).pow(2).numpy()).alpha
        for name, w in fitted_matrices(model).items()
    }


def traps_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`correlation_traps/<parameter>`: each matrix's traps, its entries shuffled by a
    generator from the member's own seed (the same count at every call)."""
    seed = task.spec.members[task.member].seed
    out = {}
    for name, w in fitted_matrices(model).items():
        generator = rng.generator(seed, TRAPS_SHUFFLE)  # one stream per matrix, from its start
        out[f"correlation_traps/{name}"] = float(correlation_traps(w, generator))
    return out
