"""One module per figure of the founding papers; importing this package registers them all."""

from groklab.experiments.base import (
    EXPERIMENTS,
    SIZES,
    Experiment,
    ExperimentContext,
    ExperimentResult,
    get_experiment,
    listing,
    load_all,
)

__all__ = [
    "EXPERIMENTS",
    "SIZES",
    "Experiment",
    "ExperimentContext",
    "ExperimentResult",
    "get_experiment",
    "listing",
    "load_all",
]
