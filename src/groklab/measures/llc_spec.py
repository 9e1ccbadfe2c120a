"""The llc's sampler settings (`SGLDSpec`) and the value names it stores, apart from the
sampler itself (llc.py, torch): `groklab measure --help` shows the defaults and the measures'
registry names the stored values without importing torch. groklab.measures.llc names the
same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from groklab.spec.checks import check_float, check_int


@dataclass(frozen=True)
class SGLDSpec:
    """The sampler: step size eps, localization gamma, inverse temperature n beta (None: n / log
    n), chains per member, draws kept per chain after `burn_in` discarded steps.

    Far from w*'s stiff directions a chain spreads out at the rate eps gamma / 2 per step, its
    loss settling over about 3 / (eps gamma) = 300 steps at these defaults: hence 400 burn-in
    steps. Until 2026-12 the defaults were 100 draws after 50 burn-in steps, on chains still
    climbing (drift 0.25 to 0.48, the estimate 27 to 41 % low on nanda2023 runs at p = 31
    and 59; README, "The local learning coefficient"). A larger eps settles sooner but is
    biased upward once eps n beta nears 0.05 (groklab measure --calibrate-llc shows it)."""

    epsilon: float = 1e-4
    gamma: float = 100.0
    n_beta: float | None = None
    chains: int = 4
    draws: int = 200
    burn_in: int = 400

    def __post_init__(self) -> None:
        check_float("epsilon", self.epsilon, 0.0, open_lo=True)
        check_float("gamma", self.gamma, 0.0)
        if self.n_beta is not None:
            check_float("n_beta", self.n_beta, 0.0, open_lo=True)
        check_int("chains", self.chains, 1, 1024)
        check_int("draws", self.draws, 1)
        check_int("burn_in", self.burn_in, 0)


# The value names of the sampler's settings, stored beside each estimate so that a stored `llc`
# always says how it was made. Values stored before these names existed were made with the
# defaults SGLDSpec had then: epsilon 1e-4, gamma 100, n beta = n / log n, 4 chains, 100 draws
# after 50 burn-in steps (groklab measure recomputes them, now with their settings stored).
SETTINGS = ("llc_epsilon", "llc_gamma", "llc_n_beta", "llc_chains", "llc_draws", "llc_burn_in")
TRACE_PREFIX = "llc_trace/"  # llc_trace/<chain>/<block>: each chain's trace in TRACE_BLOCKS means
TRACE_BLOCKS = 10
