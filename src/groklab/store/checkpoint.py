"""Checkpoint files, written atomically: a reader (or a resumed run) sees the old file or the new
one, never half of one, even if the writer is killed mid-save (Ctrl-C, OOM, power loss).

Checkpoints hold plain state only: tensors (a torch.Generator is saved as its `get_state()`
ByteTensor), Python scalars, strings, None, and lists / tuples / dicts of these. That lets
`load_checkpoint` use `torch.load(weights_only=True)`, which never runs pickled code.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from groklab.errors import GroklabError

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save `obj` to a temp file beside `path`, fsync it, then os.replace it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise GroklabError(f"directory {path.parent} does not exist (writing {path.name})")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave a temp file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)  # make the rename itself durable


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


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; os.replace is atomic there anyway
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
