"""groklab: populations of small models for studying grokking."""

from groklab.perf import remove_torch_cache_folder_at_exit, set_reproducible_blas_env

__version__ = "0.1.0"

# Before anything imports torch: MKL reads its reproducibility mode at its first call, and
# strict mode makes products the same at any thread count (perf.py says why).
set_reproducible_blas_env()
remove_torch_cache_folder_at_exit()  # torch makes it on import of its compiler; before torch

__all__ = ["__version__", "export_member", "load", "load_exported"]


def __getattr__(name: str):
    # `groklab.load` without importing torch for `groklab --version`
    if name in ("load", "export_member", "load_exported"):
        from groklab import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'groklab' has no attribute {name!r}")
