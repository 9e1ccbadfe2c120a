"""Whether Markov chains have settled: split-R-hat over chains and the drift within them.

Both read traces [draws, C, M] (draws kept after burn-in, C chains, M members) and return one
number per member:

- `split_rhat`: Gelman-Rubin's potential scale reduction with every chain split in halves
  (Gelman et al. 2013, Bayesian Data Analysis, 3rd ed., sec. 11.4): sqrt of the pooled variance
  estimate over the mean within-chain variance. Chains that have forgotten their start and
  sample the same distribution give about 1; chains at different levels, or a trend within a
  chain (the halves disagree), give more.
- `relative_drift`: (mean of the second half of the draws - mean of the first half) / |mean of
  all draws|, over all chains together. A chain still climbing from its start, as SGLD's loss
  does while it spreads away from w*, drifts.

Example, two chains at different levels:

    >>> traces = torch.tensor([[0.0, 5.0], [1.0, 6.0], [0.0, 5.0], [1.0, 6.0]])[:, :, None]
    >>> round(float(split_rhat(traces)[0]), 2)                  # [4, 2, 1] -> [1]
    4.14
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

# Warning levels of `groklab measure`. R-hat: 1.1 is the classical level (Gelman & Rubin 1992;
# Brooks & Gelman 1998; BDA3 sec. 11.5); Vehtari et al. 2021 ask for < 1.01 before reporting
# final results, which a handful of short SGLD chains rarely meets even when their mean has
# settled, so 1.1 marks chains that clearly have not. Drift: a change of 5 % of the estimate
# between the halves of the kept draws.
RHAT_LIMIT = 1.1
DRIFT_LIMIT = 0.05


def split_rhat(traces: Tensor) -> Tensor:
    """Split-R-hat [M] of traces [draws, C, M]; nan with fewer than 4 draws (a half needs 2).
    An odd middle draw is dropped, as Stan does."""
    draws = traces.shape[0]
    half = draws // 2
    if half < 2:
        return torch.full(traces.shape[2:], float("nan"), dtype=traces.dtype)
    split = torch.cat([traces[:half], traces[draws - half :]], 1)  # [half, 2C, M]
    chain_means = split.mean(0)  # [2C, M]
    between = half * chain_means.var(0)  # B: ddof 1 over the 2C chains
    within = split.var(0).mean(0)  # W: each chain's variance (ddof 1), averaged
    pooled = (half - 1) / half * within + between / half
    return torch.sqrt(pooled / within)


def relative_drift(traces: Tensor) -> Tensor:
    """(mean of the second half of the draws - mean of the first) / |mean of all|, [M] of
    traces [draws, C, M], chains pooled; nan with fewer than 2 draws."""
    draws = traces.shape[0]
    half = draws // 2
    if half < 1:
        return torch.full(traces.shape[2:], float("nan"), dtype=traces.dtype)
    first = traces[:half].mean((0, 1))
    second = traces[draws - half :].mean((0, 1))
    return (second - first) / traces.mean((0, 1)).abs()


def unsettled(rhat: np.ndarray, drift: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Where chains have not settled (same shape as the inputs): R-hat above RHAT_LIMIT,
    |drift| above DRIFT_LIMIT, or an estimate that is not finite (the chains diverged). An
    R-hat or drift that could not be computed (nan: too few draws) alone flags nothing."""
    with np.errstate(invalid="ignore"):
        return (rhat > RHAT_LIMIT) | (np.abs(drift) > DRIFT_LIMIT) | ~np.isfinite(estimate)
