"""Pure functions from curves and weights (numpy arrays) to numbers."""

from groklab.analysis.curves import grokking_delay, median_and_range, steps_to_threshold
from groklab.analysis.embeddings import (
    pca_projection,
    ring_frequency,
    tsne_projection,
    unembedding_vectors,
)
from groklab.analysis.fraction import smallest_fraction
from groklab.analysis.summary import Summary, summarize

__all__ = [
    "Summary",
    "grokking_delay",
    "median_and_range",
    "pca_projection",
    "ring_frequency",
    "smallest_fraction",
    "steps_to_threshold",
    "summarize",
    "tsne_projection",
    "unembedding_vectors",
]
