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
    above the trainer); the old name keeps working for one release."""
    if name == "train":
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
    "train",
    "train_loop",
]
