"""The run store: SQLite for specs, measures and summaries; checkpoints as files beside it."""

from groklab.store import schema
from groklab.store.checkpoint import (
    CHECKPOINT_FORMAT,
    bind,
    check_bound,
    load_checkpoint,
    load_run_checkpoint,
    save_atomic,
)
from groklab.store.curves_csv import (
    CURVES_HEADER,
    read_curves_csv,
    write_curves_csv,
    write_layer_norms_csv,
)
from groklab.store.db import STATUSES, RunRecord, RunStore, default_store_root
from groklab.store.measures import check_measure_name
from groklab.store.schema import METRICS, NORM_PREFIX, SCHEMA_VERSION

__all__ = [
    "CHECKPOINT_FORMAT",
    "CURVES_HEADER",
    "METRICS",
    "NORM_PREFIX",
    "SCHEMA_VERSION",
    "STATUSES",
    "RunRecord",
    "RunStore",
    "check_measure_name",
    "bind",
    "check_bound",
    "default_store_root",
    "load_checkpoint",
    "load_run_checkpoint",
    "read_curves_csv",
    "save_atomic",
    "schema",
    "write_curves_csv",
    "write_layer_norms_csv",
]
