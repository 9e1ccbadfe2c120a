"""groklab.catalog: the data sets and operations as data below the spec, which checks a spec
without importing data/ (nor numpy, nor torch); data/ops.py joins each declared op to its
functions, and the old import paths name the same objects."""

import ast
import json
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import pytest

import groklab
import groklab.data
import groklab.data.catalog
from groklab import catalog
from groklab.data import ops
from groklab.errors import SpecError

CHECK_SPECS = """
import json, sys
from groklab.config import spec_from_dict
from groklab.cli.flag_help import field_choices
from groklab.spec import DataSpec, RunSpec
DataSpec(op="div", p=97); DataSpec(op="s5_mul"); DataSpec(dataset="mnist")
RunSpec(data=DataSpec(dataset="toy_add", p=31)).run_id
spec_from_dict({"data": {"op": "add", "p": 13}}).run_id
field_choices()
errors = []
for data in ({"op": "div", "p": 12}, {"dataset": "toy_add", "p": 2000}, {"op": "pow"}):
    try:
        DataSpec(**data)
    except Exception as e:
        errors.append(str(e))
print(json.dumps({"loaded": [m for m in ("groklab.data", "numpy", "torch") if m in sys.modules],
                  "errors": errors}))
"""


def test_checking_a_spec_imports_nothing_of_data_nor_numpy_nor_torch():
    out = subprocess.run(
        [sys.executable, "-c", CHECK_SPECS], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got["loaded"] == []
    assert got["errors"][:2] == [
        "p=12 is not prime; op 'div' needs a prime p (e.g. 97)",
        "p=2000 is out of range for toy_add; allowed: [2, 1024]",
    ]
    assert got["errors"][2].startswith("unknown op 'pow'; choose one of: add, sub, mul, div,")


def test_the_catalog_imports_nothing_of_groklab_but_errors():
    tree = ast.parse(Path(catalog.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("groklab")} == {"groklab.errors"}
    assert not {m for m in modules if m.split(".")[0] in ("numpy", "torch")}


def test_ops_are_the_declared_ops_in_their_order_each_with_its_functions():
    assert list(ops.OPS) == list(catalog.OPERATIONS)
    assert set(ops._FUNCTIONS) == set(catalog.OPERATIONS)  # no function left undeclared
    for name, info in catalog.OPERATIONS.items():
        assert astuple(info) == astuple(ops.OPS[name])[:5], name
    assert {name for name, op in ops.OPS.items() if op.defined is not None} == {"div"}


def test_the_old_paths_name_the_same_objects():
    assert groklab.data.catalog.DATASETS is catalog.DATASETS
    assert groklab.data.catalog.DatasetInfo is catalog.DatasetInfo
    assert groklab.data.check_op_p is catalog.check_op_p
    assert groklab.data.PAPER_OPS is catalog.PAPER_OPS
    assert (groklab.data.P_MIN, groklab.data.P_MAX) == (catalog.P_MIN, catalog.P_MAX) == (2, 1024)


@pytest.mark.parametrize("op", ["div", "div_or_sub"])
def test_an_op_that_needs_a_prime_refuses_a_composite_p_in_one_line(op):
    with pytest.raises(SpecError, match=rf"^p=12 is not prime; op '{op}' needs a prime p"):
        catalog.check_op_p(op, 12)


def test_every_dataset_maker_is_a_module_function_of_data():
    for info in catalog.DATASETS.values():
        module, _, name = info.maker.partition(":")
        assert module.startswith("groklab.data.") and name.startswith("make_"), info.name
