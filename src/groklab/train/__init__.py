"""The population trainer: N members of one shape trained in lock-step in one process."""

from groklab.events import BaseSink, Checkpoints, EvalEvent, RunInfo, Sink
from groklab.train.loop import (
    Progress,
    TrainingInterrupted,
    TrainResult,
    pick_device,
    train_loop,
)
from groklab.train.options import TrainOptions
from groklab.train.population import Population


def __getattr__(name: str):
    """`groklab.train.train` moved to `groklab.run.train` (the run's wiring to the store lives
    above the trainer); the old name keeps working for one release, with a DeprecationWarning.
    The one import from this layer up to `groklab.run`, made only when the old name is used."""
    if name == "train":
        import warnings

        warnings.warn(
            "groklab.train.train is now groklab.run.train; the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from groklab.run import train

        return train
    raise AttributeError(f"module 'groklab.train' has no attribute {name!r}")


__all__ = [
    "BaseSink",
    "Checkpoints",
    "EvalEvent",
    "Population",
    "Progress",
    "RunInfo",
    "Sink",
    "TrainOptions",
    "TrainResult",
    "TrainingInterrupted",
    "pick_device",
    "train_loop",
]
