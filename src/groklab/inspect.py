"""The old name of `groklab.lens` (it shadowed the standard library's `inspect`): kept for one
release, with a DeprecationWarning; import from `groklab.lens`."""

import warnings

from groklab.lens import run_with_cache, to_hooked_transformer

warnings.warn(
    "groklab.inspect is now groklab.lens; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["run_with_cache", "to_hooked_transformer"]
