"""`groklab --help` and every command's --help load neither torch nor numpy: building the
parser reads only the declarations (the catalogue, the plug-ins, the backends' registry, the
measures' registry), never the code behind them, so help answers at once."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import groklab
from groklab.cli import build_parser

SRC = str(Path(groklab.__file__).parents[1])  # the groklab under test, in the child too

HELP_EACH = """
import contextlib, io, json, runpy, sys
out = []
for argv in json.loads(sys.argv[1]):
    sys.argv = ["groklab", *argv, "--help"]  # as `python -m groklab ... --help`
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_module("groklab", run_name="__main__")
        except SystemExit as e:
            code = e.code
    out.append([" ".join(argv), code, "torch" in sys.modules, "numpy" in sys.modules])
print(json.dumps(out))
"""


def commands(parser: argparse.ArgumentParser, prefix: tuple = ()) -> list[list[str]]:
    """Every command's words, the bare program first: [], ["ops"], ["data"], ["data",
    "export"], ..."""
    found = [list(prefix)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*prefix, name))
    return found


def test_no_commands_help_imports_torch():
    argvs = commands(build_parser())
    assert [] in argvs and ["sweep"] in argvs and ["measure"] in argvs
    path = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-c", HELP_EACH, json.dumps(argvs)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    # one process, commands in turn: the first to load torch (or numpy) is the first row with
    # True
    assert json.loads(out.stdout) == [[" ".join(argv), 0, False, False] for argv in argvs]
