"""What every command shares: the one-line usage error, output checks, the resume hint."""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from groklab.errors import GroklabError
from groklab.files import is_stream

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


# One --out convention: a command that writes several files takes a directory (train,
# reproduce), one that writes one file takes that file (curves, plot, export, data, sweep);
# missing directories are created, parents included.
OUT_DIR_HELP = "output directory (created if missing, parents included)"
OUT_FILE_HELP = "output file (its parent directories are created if missing)"


def check_out_dir(path: str | Path, *, create: bool = True) -> None:
    """--out as a file: not empty, not a directory, in a directory this process may write (or
    may make). Its parent directories are made, unless `create` is False: then
    `make_parents(path)` makes them once every other check has passed."""
    if not str(path).strip():
        raise GroklabError(f"--out {str(path)!r} is empty; give a file name")
    out = Path(path)
    if out.is_dir():
        raise GroklabError(f"--out {str(path)!r} is a directory; give a file name")
    if is_stream(out):  # /dev/stdout, a pipe (through a link too): written straight into
        return
    _check_makeable((out.resolve() if out.is_symlink() else out).parent)
    if create:
        _make_dir(out.parent)


def make_out_dir(path: str | Path, *, create: bool = True) -> Path:
    """--out as a directory: not empty, not a file, writable (or makeable: its nearest
    existing ancestor writable); made with its parents unless `create` is False."""
    if not str(path).strip():
        raise GroklabError(f"--out {str(path)!r} is empty; give a directory")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise GroklabError(f"--out {str(path)!r} is a file; give a directory")
    _check_makeable(out)
    if create:
        _make_dir(out)
    return out


def make_parents(path: str | Path) -> None:
    """The parent directories of an --out file checked by `check_out_dir(create=False)`."""
    _make_dir(Path(path).parent)


@contextmanager
def out_dir_made(path: str | Path) -> Iterator[Path]:
    """`make_out_dir(path)` for work that may still fail inside: if it does, the directories
    made here are removed again while they are empty, so a failed command leaves none."""
    out = Path(path)
    missing = [d for d in (out, *out.parents) if not d.exists()]
    make_out_dir(out)
    try:
        yield out
    except BaseException:
        for directory in missing:  # deepest first
            try:
                directory.rmdir()
            except OSError:
                break  # not empty: something was written there, keep it
        raise


def _check_makeable(directory: Path) -> None:
    """`directory` takes new files, or can be made: the nearest existing ancestor is a
    directory this process may write. Checked before anything is made (os.access also says
    when the file system is read-only)."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise GroklabError(
            f"cannot create output directory {str(directory)!r}: {str(existing)!r} is a file"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        reason = "read-only file system" if _is_read_only(existing) else "permission denied"
        if existing == directory:
            raise GroklabError(f"cannot write in output directory {str(existing)!r}: {reason}")
        raise GroklabError(
            f"cannot create output directory {str(directory)!r}: cannot write in "
            f"{str(existing)!r} ({reason})"
        )


def _is_read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


# a full disk or quota, a read-only file system, a file too large: what refuses a write
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def os_error_text(e: BaseException) -> str:
    """One line for an error of the machine: 'cannot write 'out/a.csv': Permission denied'."""
    if isinstance(e, OSError):
        where = e.filename if e.filename2 is None else f"{e.filename} -> {e.filename2}"
        reason = e.strerror or str(e) or type(e).__name__
        if where is None:
            return f"{reason} ({type(e).__name__})"
        writing = isinstance(e, (PermissionError, IsADirectoryError)) or e.errno in _WRITE_ERRNOS
        verb = "write" if writing else "use"
        return f"cannot {verb} {str(where)!r}: {reason}"
    if isinstance(e, MemoryError):
        return "out of memory (make the population, the model or the batch smaller)"
    text = " ".join(str(e).split()) or type(e).__name__  # sqlite3.Error
    return f"the store's database refused: {text} (is the store read-only?)"


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GroklabError(f"cannot create output directory {str(path)!r}: {e.strerror}") from None


def invoked_as(argv0: str | None = None) -> str:
    """The command as the user typed it: '.venv/bin/groklab', or 'python -m groklab' when run
    as a module (argv[0] is then the path of groklab/__main__.py)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = Path(argv0).name
    if name in ("__main__.py", "-m", "-c") or not argv0:
        return f"{Path(sys.executable).name} -m groklab"
    return argv0


def resume_hint(argv: list[str] | None, argv0: str | None = None) -> str:
    """The command that resumes: this one again (argv None: sys.argv's arguments)."""
    argv = sys.argv[1:] if argv is None else argv
    return " ".join([invoked_as(argv0), *(shlex.quote(a) for a in argv)])


def with_example(example: str) -> dict:
    """add_parser keywords for a help page that ends with one example, kept as written."""
    return {
        "epilog": f"example:\n  {example}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


STORE_HELP = (
    "store directory (default $GROKLAB_STORE, else ./groklab-runs in the current directory)"
)


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help=STORE_HELP)


def store_root(args: argparse.Namespace) -> Path:
    """--store, or the default when it is not given; an empty --store '' is refused, not taken
    for the default."""
    from groklab.store import default_store_root

    if args.store is None:
        return default_store_root()
    if not args.store.strip():
        raise GroklabError(
            f"--store {args.store!r} is empty; give a directory, or leave --store out for "
            "$GROKLAB_STORE, else ./groklab-runs"
        )
    return Path(args.store)


def open_store(args: argparse.Namespace, *, create: bool = True):
    """The store of --store; for reading commands (create=False), None if there is none yet,
    and a store this process cannot write opens read-only; a writing command (create=True)
    gets a one-line error for it."""
    from groklab.store import RunStore

    root = store_root(args)
    if root.exists() and not root.is_dir():
        raise GroklabError(f"--store {str(root)!r} is a file; a store is a directory")
    if not create and not (root / "runs.sqlite").is_file():
        return None
    store = RunStore(root)
    if create:  # a writing command: a read-only store is refused before anything runs
        store.check_writable()
    return store


def open_run(args: argparse.Namespace):
    """The store and full run id of `args.run`; reading only, so no store is created."""
    store = open_store(args, create=False)
    if store is None:
        raise GroklabError(f"no run matches {args.run!r}: no store at {str(store_root(args))!r}")
    return store, store.resolve(args.run)


def add_rewind_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rewind",
        action="store_true",
        help="when a resume point is ahead of the store's rows (a store emptied or replaced), "
        "retrain from the last step both hold, recording the missing rows again",
    )


def add_keep_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-checkpoints",
        default="none",
        metavar="RULE",
        help="besides the resume point, keep the full state at evaluation steps: none "
        "(default), every:N (every N steps) or log:N (N steps spread on a log axis); "
        "groklab.load(run, member, step) reads them",
    )


def keep_rule(args: argparse.Namespace) -> str:
    """--keep-checkpoints, checked (one line naming it and the choices if bad)."""
    from groklab.train.history import KeepRule

    return KeepRule.parse(args.keep_checkpoints).text


def add_mirror_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tensorboard", metavar="DIR", help="also log to TensorBoard event files under DIR"
    )
    parser.add_argument(
        "--wandb", metavar="PROJECT", help="also log to Weights & Biases (WANDB_MODE applies)"
    )
    parser.add_argument(
        "--wandb-dir", metavar="DIR", help="W&B's local directory (default ./wandb)"
    )


def build_mirrors(args: argparse.Namespace) -> list:
    """The mirror sinks the flags ask for; a missing extra or bad directory fails here."""
    mirrors: list = []
    if args.tensorboard is not None:
        from groklab.sinks import TensorBoardSink

        mirrors.append(TensorBoardSink(args.tensorboard))
    if args.wandb is not None:
        from groklab.sinks import WandbSink

        mirrors.append(WandbSink(args.wandb, directory=args.wandb_dir))
    return mirrors


def add_sweep_flags(parser: argparse.ArgumentParser, *, backend_help: str | None = None) -> None:
    """The flags of every command that trains populations through a backend: --store,
    --backend and each registered backend's own options (sweep/registry.py: --workers,
    --ray-address), --device, --threads, the mirrors and the kept checkpoints (sweep,
    reproduce, bench)."""
    from groklab.sweep.registry import BACKENDS

    parser.add_argument("--store", help=STORE_HELP)
    parser.add_argument(
        "--backend",
        default=None if backend_help else "local",
        help=backend_help or f"sweep backend: {', '.join(BACKENDS)} (default local)",
    )
    for entry in BACKENDS.values():
        for option in entry.options:
            parser.add_argument(option.flag, type=option.kind, help=f"{entry.name}: {option.help}")
    add_device_flags(parser)
    add_mirror_flags(parser)
    add_keep_flag(parser)


def add_device_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda:N")
    parser.add_argument(
        "--threads", default="auto", help="torch CPU threads (default auto: the idle cores)"
    )


@dataclass(frozen=True)
class Preflight:
    """What a command that trains settles before anything runs."""

    root: Path  # the store
    options: object  # TrainOptions: the device, the kept checkpoints, and train's own
    threads: object  # perf.ThreadChoice: prints as 'threads 2 (auto: 1.9 of 2 cores idle)'
    mirrors: tuple  # the sinks fed after the store (TensorBoard, W&B)
    backend: object = None  # a groklab.sweep Backend with the mirrors (commands that sweep)

    @property
    def device(self):  # torch.device
        return self.options.device


def backend_flags(args: argparse.Namespace) -> dict[str, object]:
    """Every backend option's flag as given ({key: value or None}), each checked whichever
    backend runs: `--workers 0` is one line even with --backend ray."""
    from groklab.sweep.registry import BACKENDS

    return {
        option.key: option.checked(getattr(args, option.dest), option.flag)
        for entry in BACKENDS.values()
        for option in entry.options
    }


def preflight(
    args: argparse.Namespace,
    *,
    sweeps: bool = True,
    default_backend: str = "local",
    backend_defaults: Callable[[str], dict] | None = None,
    **train_fields: object,
) -> Preflight:
    """The checks and settings train, sweep, reproduce and bench share, in one order: the
    backend's own options (a bad --workers fails here), the store's path, the mirrors (a bad
    one fails here), --keep-checkpoints, the backend (an unknown name fails here), the device,
    the threads, the allocator. Nothing is written. `sweeps=False` (train): no backend.
    The defaults stand where a flag is not given: `default_backend` and `backend_defaults(name)`
    (a sweep file's [sweep] settings). `train_fields` join the TrainOptions (checkpoint_every,
    compile, measures)."""
    from groklab.perf import apply_threads, tune_allocator
    from groklab.train import TrainOptions, pick_device

    runner = None
    if sweeps:
        from groklab.sweep.registry import backend_entry

        given = backend_flags(args)
        entry = backend_entry(args.backend or default_backend)
        defaults = backend_defaults(entry.name) if backend_defaults else {}
        chosen = {
            o.key: defaults.get(o.key) if given[o.key] is None else given[o.key]
            for o in entry.options
        }
    root = store_root(args)
    mirrors = tuple(build_mirrors(args))
    options = TrainOptions(keep_checkpoints=keep_rule(args), **train_fields)
    if sweeps:
        runner = entry.build(mirrors, **{k: v for k, v in chosen.items() if v is not None})
    options = options.with_fields(device=pick_device(args.device))
    threads = apply_threads(args.threads)  # e.g. threads 2 (auto: 1.9 of 2 cores idle)
    tune_allocator()
    return Preflight(root, options, threads, mirrors, runner)


def add_size_flags(parser: argparse.ArgumentParser, helps: dict[str, str]) -> None:
    """--quick (the default), --paper, --micro as one choice `args.size`; `helps` per size."""
    size = parser.add_mutually_exclusive_group()
    for name in ("quick", "paper", "micro"):
        size.add_argument(
            f"--{name}", dest="size", action="store_const", const=name, help=helps[name]
        )
    parser.set_defaults(size="quick")
