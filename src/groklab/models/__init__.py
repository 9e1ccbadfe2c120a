"""Models written for one member; the trainer stacks them into a population."""

from groklab.models.build import build_model, dropout_shape
from groklab.models.mlp import TableMLP
from groklab.models.transformer import Transformer

__all__ = ["Transformer", "TableMLP", "build_model", "dropout_shape"]
