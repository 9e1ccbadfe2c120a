"""Pure functions from curves (numpy arrays) to numbers."""

from groklab.analysis.curves import grokking_delay, median_and_range, steps_to_threshold
from groklab.analysis.fraction import smallest_fraction
from groklab.analysis.summary import Summary, summarize

__all__ = [
    "Summary",
    "grokking_delay",
    "median_and_range",
    "smallest_fraction",
    "steps_to_threshold",
    "summarize",
]
