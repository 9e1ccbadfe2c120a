"""Sweeps: a grid expanded into points, packed into populations, run on a backend."""

from groklab.sweep.backend import BACKENDS, LocalBackend, get_backend
from groklab.sweep.base import Backend, ProgressCounter, SweepProgress
from groklab.sweep.grid import SweepSpec, axis_name, expand, load_sweep, pack, sweep_from_dict
from groklab.sweep.run import SweepResult, run_sweep, stored_result, write_rows_csv

__all__ = [
    "BACKENDS",
    "Backend",
    "LocalBackend",
    "ProgressCounter",
    "SweepProgress",
    "SweepResult",
    "SweepSpec",
    "axis_name",
    "expand",
    "get_backend",
    "load_sweep",
    "pack",
    "run_sweep",
    "stored_result",
    "sweep_from_dict",
    "write_rows_csv",
]
