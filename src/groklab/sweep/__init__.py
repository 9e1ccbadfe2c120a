"""Sweeps: a grid expanded into points, packed into populations, run on a backend.

The names below are imported from their modules on first use, so that reading the backends'
declarations (sweep/registry.py, what `groklab sweep --help` shows) loads no torch.
"""

import importlib

# name -> the module of groklab.sweep that defines it
_HOMES = {
    "BACKENDS": "registry",
    "Backend": "base",
    "LocalBackend": "backend",
    "ProgressCounter": "base",
    "SweepProgress": "base",
    "SweepResult": "run",
    "SweepSpec": "grid",
    "axis_name": "grid",
    "expand": "grid",
    "get_backend": "backend",
    "load_sweep": "grid",
    "pack": "grid",
    "run_sweep": "run",
    "stored_result": "run",
    "sweep_from_dict": "grid",
    "write_rows_csv": "run",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'groklab.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"groklab.sweep.{_HOMES[name]}"), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value
