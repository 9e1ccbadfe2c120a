"""Mirrors of the run store: TensorBoard and Weights & Biases sinks (optional extras)."""

from groklab.sinks.mirrors import TensorBoardSink, WandbSink, member_scalars

__all__ = ["TensorBoardSink", "WandbSink", "member_scalars"]
