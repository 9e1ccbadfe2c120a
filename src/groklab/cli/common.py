"""What every command shares: the one-line usage error, output checks, the resume hint."""

from __future__ import annotations

import argparse
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


def check_out_dir(path: str | Path) -> None:
    parent = Path(path).parent
    if not parent.is_dir():
        raise GroklabError(f"output directory {str(parent)!r} does not exist")
    if Path(path).is_dir():
        raise GroklabError(f"--out {str(path)!r} is a directory; give a file name")


def resume_hint(argv: list[str]) -> str:
    return "groklab " + " ".join(shlex.quote(a) for a in argv)
