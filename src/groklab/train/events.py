"""Moved to `groklab.events` (below both the trainer and the store); this path keeps working
for one release."""

from groklab.events import (  # noqa: F401
    BaseSink,
    CallbackSink,
    Checkpoints,
    EvalEvent,
    RunInfo,
    Sink,
    emit_end,
    emit_eval,
    emit_start,
)
