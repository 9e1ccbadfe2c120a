"""Checkpoint files, written atomically: a reader (or a resumed run) sees the old file or the new
one, never half of one, even if the writer is killed mid-save (Ctrl-C, OOM, power loss).

Checkpoints hold plain state only: tensors (a torch.Generator is saved as its `get_state()`
ByteTensor), Python scalars, strings, None, and lists / tuples / dicts of these. That lets
`load_checkpoint` use `torch.load(weights_only=True)`, which never runs pickled code.

A run's checkpoint (its resume point and each kept one) is bound to the run: `bind` adds the
run id and CHECKPOINT_FORMAT, and `check_bound` refuses, in one line naming the file, one
whose run id or format is not the expected one. A checkpoint copied in from another spec would
otherwise be resumed silently, with the wrong weights (and curves) from then on. Checkpoints
from before the binding (no run id) are refused too: they cannot be told apart from a foreign
one of the same shape, the very case the binding is for (delete one to retrain from step 0).

Each checkpoint also carries `digest`, the SHA-256 of its content (every tensor's dtype, shape
and bytes and every plain value, in a fixed order; `content_digest`), checked on every load: a
flipped bit, a truncated tensor or an edited step is one line naming the file, never a run that
trains on from a damaged state. (torch's zip container does not check its records' CRCs.)
Format-1 checkpoints, written before the digest, load unchecked with a warning.

    save_atomic(bind(state, "r-0123456789"), path)
    state = check_bound(load_checkpoint(path), path, "r-0123456789")
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import torch

from groklab.errors import GroklabError
from groklab.files import write_atomic

log = logging.getLogger(__name__)

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")
CHECKPOINT_FORMAT = 2  # 2: with its content's digest; bump when the layout changes
READABLE_FORMATS = (1, CHECKPOINT_FORMAT)


def bind(state: dict, run_id: str) -> dict:
    """The state with the run id, format and content digest it is checked against when loaded."""
    bound = {k: v for k, v in state.items() if k != "digest"}
    bound |= {"run_id": run_id, "format": CHECKPOINT_FORMAT}
    return {**bound, "digest": content_digest(bound)}


def content_digest(obj: Any) -> str:
    """SHA-256 (hex) of a checkpoint's content: tensors by dtype, shape and bytes, plain values
    by type and repr, dicts in sorted key order. Equal for equal content, whatever the device
    or the file's byte layout; any changed bit changes it.

    Example: content_digest({"step": 3}) != content_digest({"step": 4})."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)};".encode())
        h.update(t.view(torch.uint8).numpy() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)};".encode())
        for key in sorted(obj, key=repr):
            h.update(f"{key!r}=".encode())
            _feed(h, obj[key])
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}{len(obj)};".encode())
        for item in obj:
            _feed(h, item)
    else:  # int, float, bool, str, None
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def check_bound(saved: Any, path: Path, run_id: str) -> dict:
    """`saved` if it is a checkpoint of run `run_id` in CHECKPOINT_FORMAT; else GroklabError."""
    if not isinstance(saved, dict) or "step" not in saved:
        raise GroklabError(f"checkpoint {path} is not a groklab checkpoint (expected run {run_id})")
    found = saved.get("run_id")
    if found is None:
        raise GroklabError(
            f"checkpoint {path} names no run (written before checkpoints were bound to their "
            f"run); expected run {run_id}: delete it to retrain the run from step 0"
        )
    if found != run_id:
        raise GroklabError(
            f"checkpoint {path} is of run {found!r}; expected run {run_id} "
            "(a checkpoint of another spec): remove it from there"
        )
    form = saved.get("format")
    if form not in READABLE_FORMATS:
        raise GroklabError(
            f"checkpoint {path} has format {form!r}; this groklab reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}"
        )
    if form == 1:
        log.warning(
            "checkpoint %s was written before checkpoints carried a digest: unchecked", path
        )
        return saved
    content = {k: v for k, v in saved.items() if k != "digest"}
    if saved.get("digest") != content_digest(content):
        raise GroklabError(
            f"checkpoint {path} is damaged: its content does not match its digest (a changed "
            "bit, a cut tensor or an edit); delete it to retrain the run from step 0"
        )
    return saved


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save `obj` to `path` atomically (groklab.files.write_atomic: temp file, fsync,
    rename), with the mode the umask gives a normal file."""
    write_atomic(path, lambda f: torch.save(obj, f), binary=True)


def load_checkpoint(path: Path, *, mmap: bool = False) -> Any:
    """The object saved by `save_atomic`, on the CPU; a missing or corrupt file: GroklabError.
    `mmap` maps the tensors instead of reading them (cheap when only plain fields are read)."""
    path = Path(path)
    if not path.is_file():
        raise GroklabError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
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


def load_run_checkpoint(path: Path, run_id: str, *, mmap: bool = False) -> dict:
    """The checkpoint at `path`, checked to be run `run_id`'s (`check_bound`)."""
    return check_bound(load_checkpoint(path, mmap=mmap), Path(path), run_id)
