"""The population trainer: N members of one shape trained in lock-step in one process."""

from groklab.train.events import BaseSink, Checkpoints, EvalEvent, RunInfo, Sink
from groklab.train.loop import (
    Progress,
    TrainingInterrupted,
    TrainResult,
    pick_device,
    train,
    train_loop,
)
from groklab.train.population import Population

__all__ = [
    "BaseSink",
    "Checkpoints",
    "EvalEvent",
    "Population",
    "Progress",
    "RunInfo",
    "Sink",
    "TrainResult",
    "TrainingInterrupted",
    "pick_device",
    "train",
    "train_loop",
]
