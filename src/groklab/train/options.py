"""How a run trains, beside what it trains: one frozen `TrainOptions` from the command line (or
a script) through `groklab.run.train`, the trainer and every sweep backend.

None of it is part of the spec or the run id: the device and `compile` change results only by
float reassociation, and the checkpoint cadence, the kept checkpoints and the measures change
what is saved, not what is trained. A run may resume under other options.

    from groklab.run import train
    from groklab.train import TrainOptions
    train(spec, store, TrainOptions(device="cpu", keep_checkpoints="log:20"))
    train(spec, store, device="cpu", keep_checkpoints="log:20")       # the same, field by field
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
from torch import Tensor

from groklab.errors import GroklabError
from groklab.train.history import KeepRule

# measures taken at each evaluation: (flat [M, P], step) -> {name: [M] values}
MeasureHook = Callable[[Tensor, int], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class TrainOptions:
    device: str | torch.device | None = None  # None or "auto": CUDA when present, else CPU
    checkpoint_every: int = 1000  # steps between two saves of the resume point
    compile: bool = False  # each step's forward, loss and backward through torch.compile
    keep_checkpoints: KeepRule = KeepRule()  # or its text: "none", "every:N", "log:N"
    measures: MeasureHook | None = None  # groklab.measures.run.training_measures makes one

    def __post_init__(self) -> None:
        every = self.checkpoint_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise GroklabError(f"checkpoint_every={every!r} must be a positive integer")
        if not isinstance(self.compile, bool):
            raise GroklabError(f"compile={self.compile!r} is not true or false")
        if not isinstance(self.keep_checkpoints, KeepRule):  # its text, checked here
            object.__setattr__(self, "keep_checkpoints", KeepRule.parse(self.keep_checkpoints))
        if self.measures is not None and not callable(self.measures):
            raise GroklabError(f"measures={self.measures!r} is not a function (flat, step)")

    def with_fields(self, **changes: object) -> TrainOptions:
        """These options with `changes` (field names; None values ignored), checked again."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown training option(s) {unknown}; allowed: {sorted(names)}")
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given) if given else self

    def portable(self) -> TrainOptions:
        """These options as they travel to a worker process or a cluster node: plain data. A
        measures hook is a function of this process and cannot travel: refused in one line."""
        if self.measures is not None:
            raise GroklabError(
                "measures cannot travel to a sweep worker; take them after the sweep with "
                "`groklab measure RUN`, or train in this process"
            )
        if isinstance(self.device, torch.device):
            return replace(self, device=str(self.device))
        return self
