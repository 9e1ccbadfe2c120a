"""Checkpoint files, written atomically: a reader (or a resumed run) sees the old file or the new
one, never half of one, even if the writer is killed mid-save (Ctrl-C, OOM, power loss).

Checkpoints hold plain state only: tensors (a torch.Generator is saved as its `get_state()`
ByteTensor), Python scalars, strings, None, and lists / tuples / dicts of these. That lets
`load_checkpoint` use `torch.load(weights_only=True)`, which never runs pickled code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from groklab.errors import GroklabError
from groklab.files import write_atomic

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save `obj` to `path` atomically (groklab.files.write_atomic: temp file, fsync,
    rename), with the mode the umask gives a normal file."""
    write_atomic(path, lambda f: torch.save(obj, f), binary=True)


def load_checkpoint(path: Path) -> Any:
    """The object saved by `save_atomic`, on the CPU; a missing or corrupt file: GroklabError."""
    path = Path(path)
    if not path.is_file():
        raise GroklabError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        found = _UNSUPPORTED_GLOBAL.search(str(e))
        if found:
            raise GroklabError(
                f"checkpoint {path} holds a {found.group(1)}; checkpoints may hold only tensors "
                "and plain Python values (int, float, str, bool, None, list, tuple, dict)"
            ) from None
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise GroklabError(
            f"checkpoint {path} is corrupt ({reason}); delete it to restart the run from step 0"
        ) from None
