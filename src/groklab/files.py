"""Atomic file writes with the permissions a normal file gets.

Every file groklab writes (curves CSV, figures, Markdown, TOML, checkpoints) goes through
`write_atomic`: the content is written to a temp file beside the target, flushed to disk, and
renamed over the target, so a reader sees the old file or the new one, never half of one, even
if the writer is killed mid-write (Ctrl-C, OOM, power loss).

The temp file is created with `os.open(..., 0o666)`, so the process umask applies exactly as
for `open(path, "w")`: 0o644 under umask 022, 0o600 under umask 077. (`tempfile.mkstemp`
would make every output 0o600 whatever the umask, and colleagues on a shared machine could
not read the results.)

    write_text_atomic(Path("out/notes.md"), "# Results\\n")
    write_atomic(Path("out/run.png"), lambda f: fig.savefig(f, format="png"), binary=True)
"""

from __future__ import annotations

import glob
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from groklab.errors import GroklabError

_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def write_atomic(
    path: str | Path, write: Callable[[IO[Any]], object], *, binary: bool = False
) -> None:
    """Call `write(f)` on a new temp file beside `path`, then move it into place atomically.

    Text mode is UTF-8 with no newline translation (what the csv module asks for). If `write`
    raises (KeyboardInterrupt too), the temp file is removed and the old `path` is untouched.
    A symlink is written through (the file it names is replaced, the link stays); a device or
    a pipe (/dev/stdout) is written straight into. Temp files of `path` that killed writers
    left are removed first.
    """
    path = Path(path)
    if is_stream(path):  # /dev/stdout, /dev/null, a pipe: no file to put a temp file beside
        _write_straight(path, write, binary=binary)
        return
    if path.is_symlink():  # written through: the link stays, the file it names is replaced
        path = path.resolve()
    if not path.parent.is_dir():
        raise GroklabError(f"directory {path.parent} does not exist (writing {path.name})")
    if path.is_dir():
        raise GroklabError(f"{str(path)!r} is a directory; give a file name")
    # a writer of this file killed mid-write (kill -9) left its temp file: remove it now
    remove_stale_temp_files(path.parent, f".{glob.escape(path.name)}.*.tmp", recursive=False)
    tmp, fd = _create_beside(path)
    recorder = None
    try:
        mode = "wb" if binary else "w"
        text = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text) as f:
            recorder = _WriteErrors(f)
            write(recorder)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        error = e if isinstance(e, OSError) else getattr(recorder, "error", None)
        if error is None or isinstance(e, KeyboardInterrupt):
            raise
        raise _naming(error, path) from None
    fsync_directory(path.parent)  # make the rename itself durable


class _WriteErrors:
    """A file that remembers the first OSError its writes raised. torch.save and savefig turn
    a full disk into an error of their own (torch: a RuntimeError 'unexpected pos'), which
    loses what the system said; write_atomic raises the system's error instead."""

    def __init__(self, f: IO[Any]) -> None:
        self._f, self.error = f, None

    def write(self, data: Any) -> int:
        return self._recorded(self._f.write, data)

    def flush(self) -> None:
        self._recorded(self._f.flush)

    def _recorded(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except OSError as e:
            self.error = self.error or e
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _naming(error: OSError, path: Path) -> OSError:
    """`error` with `path` as its file name when it names none (a write to a full disk)."""
    if error.filename is not None or error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def is_stream(path: str | Path) -> bool:
    """Whether `path`, through any links, is something other than a file or a directory: a
    device (/dev/stdout, /dev/null), a pipe, a socket. Such a path is written straight into."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _write_straight(path: Path, write: Callable[[IO[Any]], object], *, binary: bool) -> None:
    text = {} if binary else {"encoding": "utf-8", "newline": ""}
    with open(path, "wb" if binary else "w", **text) as f:
        write(f)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8, newlines as given) to `path` atomically."""
    write_atomic(path, lambda f: f.write(text))


def write_bytes_atomic(path: str | Path, blob: bytes) -> None:
    """Write `blob` to `path` atomically."""
    write_atomic(path, lambda f: f.write(blob), binary=True)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename) to disk; a no-op where directories cannot be
    opened (Windows, where os.replace is atomic anyway)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_beside(path: Path) -> tuple[Path, int]:
    """A new hidden temp file in path's directory (same file system, so the rename is atomic),
    mode 0o666 less the umask; O_EXCL with a random name, so no two writers share one."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:
            continue


def _is_token(text: str) -> bool:
    """Whether `text` is a `secrets.token_hex(4)` as _create_beside names its temp files."""
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)


def pid_is_alive(pid: int) -> bool:
    """Whether a process of that id runs on this machine (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temp_files(
    directory: str | Path, pattern: str = ".*.tmp", *, recursive: bool = True
) -> list[Path]:
    """Remove the temp files (`_create_beside`) that writers killed mid-write left in
    `directory` (and its subfolders, if `recursive`) matching `pattern`: those of a process no
    longer alive on this machine. Returns what it removed. A live writer's file is left alone."""
    removed = []
    folder = Path(directory)
    for tmp in folder.rglob(pattern) if recursive else folder.glob(pattern):
        parts = tmp.name.split(".")  # ["", name..., pid, hex, "tmp"]
        if len(parts) < 5 or not parts[-3].isdigit() or not _is_token(parts[-2]):
            continue  # not named by _create_beside: not ours to remove
        if pid_is_alive(int(parts[-3])):
            continue
        try:
            tmp.unlink()
        except OSError:
            continue
        removed.append(tmp)
    return removed
