"""groklab: populations of small models for studying grokking."""

__version__ = "0.1.0"
