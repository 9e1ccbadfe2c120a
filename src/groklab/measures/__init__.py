"""Measures: numbers per member computed from a member's weights and its task.

A measure is a function `fn(model, task) -> {name: value}` of one loaded member (a plain
`nn.Module` for one member and its `MemberTask`, as `groklab.load` returns them). It may
return several named values (a per-frequency measure returns one per frequency). Each is
registered once in `MEASURES` with the runs it applies to, and whether it is cheap enough to
take at every evaluation during training. The values go to the store as ordinary measures
(`RunStore.write_metrics`), under the names the function returns.

    >>> from groklab.measures import MEASURES
    >>> MEASURES["softmax_collapse"].fn(model, task)
    {'softmax_collapse': 0.93}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from groklab.measures import llc, rqi
from groklab.measures.collapse import softmax_collapse_measure, zero_loss_measure

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask
    from groklab.spec import RunSpec

MeasureFn = Callable[["nn.Module", "MemberTask"], dict[str, float]]


@dataclass(frozen=True)
class MeasureInfo:
    name: str  # what `--measures NAME` selects
    fn: MeasureFn
    applies: Callable[[RunSpec], bool]  # the runs this measure is defined for
    cheap: bool  # cheap enough to take at every evaluation during training
    doc: str  # one line for `--help`


def _classification(spec: RunSpec) -> bool:
    return spec.train.loss in ("ce", "stablemax")


MEASURES: dict[str, MeasureInfo] = {
    info.name: info
    for info in (
        MeasureInfo(
            "softmax_collapse",
            softmax_collapse_measure,
            _classification,
            cheap=True,
            doc="fraction of training examples whose float32 softmax is exactly 1 at the "
            "correct class (Prieto et al. 2025)",
        ),
        MeasureInfo(
            "zero_loss",
            zero_loss_measure,
            _classification,
            cheap=True,
            doc="fraction of training examples whose float32 cross-entropy is exactly 0",
        ),
        MeasureInfo(
            "rqi",
            rqi.rqi_measure,
            rqi.applies_to,
            cheap=True,
            doc="toy_add: fraction of ideal parallelograms i+n=j+m the representation satisfies "
            "(Liu et al. 2022)",
        ),
        MeasureInfo(
            "llc",
            llc.llc_measure,
            llc.applies_to,
            cheap=False,
            doc="local learning coefficient by SGLD around the member's weights, and its spread "
            "over chains (Lau et al. 2023)",
        ),
    )
}
