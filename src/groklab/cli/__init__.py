"""`groklab`: a thin shell over the Python API. Only this package prints.

common.py     the one-line usage error (exit 2), output checks, the resume hint
main.py       the parser, `ops`, `data`, and `main`
train.py      `train`, `runs`, `curves`, `plot`
sweep.py      `sweep`
reproduce.py  `reproduce`
"""

from groklab.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
