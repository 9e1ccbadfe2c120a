"""What a data set tells a model about its inputs and outputs: every model class takes
`(spec, shape, generator)` (models/build.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskShape:
    """d_vocab: the token vocabulary (0: the inputs are float features, not tokens); n_ctx: the
    tokens (or rows) per example; d_out: the outputs per example (classes, or regression
    targets); input_shape: one example's input shape (tokens: (n_ctx,))."""

    d_vocab: int
    n_ctx: int
    d_out: int
    input_shape: tuple[int, ...]
