"""Data sets as full tables of examples plus per-member train masks."""

from groklab.data.ops import OPS, P_MAX, P_MIN, PAPER_OPS, BinaryOp, check_op_p, make_table
from groklab.data.table import (
    Table,
    make_train_masks,
    noisy_targets,
    train_mask,
    write_table_csv,
)

__all__ = [
    "OPS",
    "P_MAX",
    "P_MIN",
    "PAPER_OPS",
    "BinaryOp",
    "Table",
    "check_op_p",
    "make_table",
    "make_train_masks",
    "noisy_targets",
    "train_mask",
    "write_table_csv",
]
