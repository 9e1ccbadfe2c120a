"""groklab.sweep.registry: the backends' declarations, light enough for the parser to read
(no numpy, no torch), each naming a class that exists, and the old paths name the same objects."""

import ast
from pathlib import Path

from groklab import sweep
from groklab.sweep import backend, base, registry
from groklab.sweep.backend import LocalBackend
from groklab.sweep.ray_backend import RayBackend


def test_the_registry_imports_nothing_of_groklab_but_errors():
    tree = ast.parse(Path(registry.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("groklab")} == {"groklab.errors"}
    assert not {m for m in modules if m.split(".")[0] in ("numpy", "torch")}


def test_each_entry_names_its_backends_class():
    assert {name: entry.maker() for name, entry in registry.BACKENDS.items()} == {
        "local": LocalBackend,
        "ray": RayBackend,
    }


def test_the_old_paths_name_the_same_objects():
    assert sweep.BACKENDS is backend.BACKENDS is registry.BACKENDS
    assert backend.backend_entry is registry.backend_entry
    assert (base.BackendEntry, base.BackendOption) == (
        registry.BackendEntry,
        registry.BackendOption,
    )
    assert base.positive_int is registry.positive_int
    assert isinstance(sweep.get_backend("local", workers=2), LocalBackend)
