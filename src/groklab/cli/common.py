"""What every command shares: the one-line usage error, output checks, the resume hint."""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from pathlib import Path

from groklab.errors import GroklabError

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


def check_out_dir(path: str | Path) -> None:
    """--out as a file: it must not be a directory; its parent directories are made."""
    if not str(path).strip():
        raise GroklabError(f"--out {str(path)!r} is empty; give a file name")
    out = Path(path)
    if out.is_dir():
        raise GroklabError(f"--out {str(path)!r} is a directory; give a file name")
    _make_dir(out.parent)


def make_out_dir(path: str | Path) -> Path:
    """--out as a directory: created with its parents; an existing file there is an error."""
    if not str(path).strip():
        raise GroklabError(f"--out {str(path)!r} is empty; give a directory")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise GroklabError(f"--out {str(path)!r} is a file; give a directory")
    _make_dir(out)
    return out


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
    from groklab.store import default_store_root

    return Path(args.store) if args.store else default_store_root()


def open_store(args: argparse.Namespace, *, create: bool = True):
    """The store of --store; for reading commands (create=False), None if there is none yet."""
    from groklab.store import RunStore

    root = store_root(args)
    if root.exists() and not root.is_dir():
        raise GroklabError(f"--store {str(root)!r} is a file; a store is a directory")
    if not create and not (root / "runs.sqlite").is_file():
        return None
    return RunStore(root)


def open_run(args: argparse.Namespace):
    """The store and full run id of `args.run`; reading only, so no store is created."""
    store = open_store(args, create=False)
    if store is None:
        raise GroklabError(f"no run matches {args.run!r}: no store at {str(store_root(args))!r}")
    return store, store.resolve(args.run)


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
