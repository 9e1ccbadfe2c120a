"""Choosing the LLC sampler: the estimate and its diagnostics over a grid of step sizes eps and
inverse temperatures n beta at one checkpoint of one member (as devinterp's epsilon-beta
analysis). A usable cell has chains that settled (R-hat about 1, no drift) and an estimate
that changes little between neighbouring cells; too large an eps diverges, too small a one
has not left w* by the end of the draws.

    >>> result = calibrate_llc(model, task, epsilons=[1e-5, 1e-4], n_betas=[10.0, 100.0],
    ...                        sampler=SGLDSpec(draws=200))
    >>> [(c.epsilon, c.n_beta, round(c.llc), c.diverged) for c in result.cells][:1]
    [(1e-05, 10.0, 3, False)]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from groklab.errors import GroklabError
from groklab.files import write_atomic
from groklab.measures.llc import SGLDSpec, member_llc

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask

CSV_HEADER = ("epsilon", "n_beta", "llc", "llc_std", "llc_rhat", "llc_drift", "diverged")


@dataclass(frozen=True)
class CalibrationCell:
    epsilon: float
    n_beta: float
    llc: float  # mean over chains and draws
    llc_std: float  # spread of the chains' own estimates
    rhat: float  # split-R-hat over chains
    drift: float  # relative change from the first half of the draws to the second
    diverged: bool  # a draw's loss was not finite


@dataclass(frozen=True)
class CalibrationResult:
    sampler: SGLDSpec  # gamma, chains, draws, burn-in of every cell
    epsilons: list[float]
    n_betas: list[float]
    cells: list[CalibrationCell]  # epsilon-major: cells[i * len(n_betas) + j]
    traces: np.ndarray  # [E, B, draws, C] n beta (L_n(w_t) - L_n(w*)) of each cell's chains


def check_grid(epsilons: Sequence[float], n_betas: Sequence[float]) -> None:
    """One line naming the first bad value: an empty list, or a value that is not a finite
    positive number."""
    for flag, values in (("--epsilons", epsilons), ("--n-betas", n_betas)):
        if not values:
            raise GroklabError(f"{flag} is empty; give positive numbers, e.g. 1e-5,1e-4,1e-3")
        for value in values:
            if not np.isfinite(value) or value <= 0:
                raise GroklabError(f"{flag}: {value:g} is not allowed; values must be > 0")


def calibrate_llc(
    model: nn.Module,
    task: MemberTask,
    *,
    epsilons: Sequence[float],
    n_betas: Sequence[float],
    sampler: SGLDSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """The llc of a loaded member at every (eps, n beta), each cell's chains from the member's
    own noise stream; the other settings come from `sampler` (None: SGLDSpec's defaults)."""
    check_grid(epsilons, n_betas)
    sampler = sampler or SGLDSpec()
    cells, traces = [], []
    total = len(epsilons) * len(n_betas)
    for epsilon in epsilons:
        for n_beta in n_betas:
            result = member_llc(model, task, replace(sampler, epsilon=epsilon, n_beta=n_beta))
            trace = result.traces[:, :, 0].double().numpy()  # [draws, C]
            cells.append(
                CalibrationCell(
                    float(epsilon),
                    float(n_beta),
                    float(result.llc[0]),
                    float(result.llc_per_chain[:, 0].std()),
                    float(result.rhat[0]),
                    float(result.drift[0]),
                    not bool(result.losses.isfinite().all()),
                )
            )
            traces.append(trace)
            if progress is not None:
                progress(len(cells), total)
    shape = (len(epsilons), len(n_betas), *traces[0].shape)
    return CalibrationResult(
        sampler, list(epsilons), list(n_betas), cells, np.stack(traces).reshape(shape)
    )


def write_calibration_csv(result: CalibrationResult, path: str | Path) -> None:
    """One row per cell, header CSV_HEADER; diverged as 0/1."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for c in result.cells:
        row = (c.epsilon, c.n_beta, c.llc, c.llc_std, c.rhat, c.drift, int(c.diverged))
        writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    write_atomic(Path(path), lambda f: f.write(buffer.getvalue()))
