"""The population trainer: N members of one shape trained in lock-step in one process."""

from groklab.train.loop import Progress, TrainingInterrupted, TrainResult, pick_device, train
from groklab.train.population import Population

__all__ = ["Population", "Progress", "TrainResult", "TrainingInterrupted", "pick_device", "train"]
