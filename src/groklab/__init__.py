"""groklab: populations of small models for studying grokking."""

__version__ = "0.1.0"

__all__ = ["__version__", "export_member", "load", "load_exported"]


def __getattr__(name: str):
    # `groklab.load` without importing torch for `groklab --version`
    if name in ("load", "export_member", "load_exported"):
        from groklab import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'groklab' has no attribute {name!r}")
