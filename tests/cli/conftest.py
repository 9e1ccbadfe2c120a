import contextlib
import io

import pytest

from groklab.cli import main


@pytest.fixture(autouse=True)
def _no_env_store(monkeypatch):
    """Every CLI test names its store: $GROKLAB_STORE from the environment never leaks in."""
    monkeypatch.delenv("GROKLAB_STORE", raising=False)


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
