import contextlib
import io

import pytest

from groklab.cli import main


@pytest.fixture
def run_cli():
    """`groklab ARGV...` in process: (exit status, stdout, stderr)."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as e:  # argparse's own usage errors
                status = e.code
        return status, out.getvalue(), err.getvalue()

    return run
