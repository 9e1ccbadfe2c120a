"""The trainer and the store stay apart: `train/` imports nothing of `store/` (one run's wiring
lives in `groklab/run.py` above both), and `store/` nothing of `train/` (both read
`groklab/events.py`); the spec imports nothing above the bottom layer; the old import paths
keep working for a release."""

import ast
from pathlib import Path

import groklab

SRC = Path(groklab.__file__).parent


def imported(package: str) -> dict[str, set[str]]:
    """{module file: every groklab module it imports, at any depth of its code}."""
    out = {}
    for path in sorted((SRC / package).glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        out[path.name] = {n for n in names if n.startswith("groklab")}
    return out


def test_the_trainer_imports_nothing_of_the_store():
    for name, modules in imported("train").items():
        bad = {m for m in modules if m.startswith(("groklab.store", "groklab.resume"))}
        assert not bad, (name, bad)


def test_the_store_imports_nothing_of_the_trainer():
    for name, modules in imported("store").items():
        assert not {m for m in modules if m.startswith("groklab.train")}, name


def test_the_spec_imports_only_itself_and_the_bottom_layer():
    bottom = ("groklab.errors", "groklab.rng", "groklab.plugins", "groklab.catalog")
    for name, modules in imported("spec").items():
        assert not {m for m in modules if not m.startswith(("groklab.spec", *bottom))}, name


def test_the_old_paths_name_the_same_objects():
    import groklab.events
    import groklab.run
    from groklab.run import train
    from groklab.train.events import EvalEvent, Sink

    assert train is groklab.run.train
    assert (Sink, EvalEvent) == (groklab.events.Sink, groklab.events.EvalEvent)
