"""Pure functions from curves (numpy arrays) to numbers."""

from groklab.analysis.curves import grokking_delay, median_and_range, steps_to_threshold

__all__ = ["grokking_delay", "median_and_range", "steps_to_threshold"]
