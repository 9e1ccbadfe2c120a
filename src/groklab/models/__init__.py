"""Models written for one member; the trainer stacks them into a population."""

from groklab.models.build import (
    ARCH_CLASSES,
    DROPOUT_ARCHS,
    arch_class,
    build_model,
    dropout_shape,
    share_input_structure,
)
from groklab.models.mlp import TableMLP
from groklab.models.transformer import Transformer

__all__ = [
    "ARCH_CLASSES",
    "DROPOUT_ARCHS",
    "TableMLP",
    "Transformer",
    "arch_class",
    "build_model",
    "dropout_shape",
    "share_input_structure",
]
