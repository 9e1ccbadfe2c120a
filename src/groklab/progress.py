"""A progress bar for `groklab train`: step, steps/s, ETA and the members' accuracies."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from groklab.spec import RunSpec
from groklab.train import Progress


def _summary(values: np.ndarray) -> str:
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{np.median(values):.3f} [{values.min():.2f}-{values.max():.2f}]"


class ProgressBar:
    """Starts at the first evaluation (so an early error is the only line on stderr), at the
    step a resumed run is at."""

    def __init__(self, spec: RunSpec) -> None:
        self.bar: tqdm | None = None

    def update(self, event: Progress) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=event.steps,
                initial=event.step,
                unit="step",
                dynamic_ncols=True,
                smoothing=0.1,
            )
        self.bar.update(event.step - self.bar.n)
        m = event.metrics
        self.bar.set_postfix_str(f"train {_summary(m['train_acc'])} val {_summary(m['val_acc'])}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
