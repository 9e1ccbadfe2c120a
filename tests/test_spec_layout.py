"""DataSpec.layout: Power's `x op y =` by default (old run ids unchanged), Nanda's `x y =`."""

import pytest

from groklab.config import spec_from_dict
from groklab.errors import SpecError
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec


def test_default_layout_leaves_the_run_id_as_before_the_field_existed():
    # the pinned ids of tests/experiments/run_ids.json hold this for every experiment; here the
    # canonical JSON itself must not mention the field at its default
    from groklab.spec.identity import canonical_json

    assert "layout" not in canonical_json(RunSpec())
    assert "layout" in canonical_json(RunSpec(data=DataSpec(op="add", p=7, layout="x_y_eq")))


def test_layout_changes_the_run_id():
    a = RunSpec(data=DataSpec(op="add", p=7))
    b = RunSpec(data=DataSpec(op="add", p=7, layout="x_y_eq"))
    assert a.run_id != b.run_id


def test_unknown_layout_is_one_line_naming_it_and_the_choices():
    with pytest.raises(SpecError) as e:
        DataSpec(layout="x_eq")
    assert str(e.value) == "layout='x_eq' is not allowed; choose one of x_op_y_eq, x_y_eq"


def test_layout_x_y_eq_is_refused_for_the_table_mlp():
    with pytest.raises(SpecError, match="layout='x_y_eq' is for sequence models"):
        RunSpec(data=DataSpec(op="add", p=7, layout="x_y_eq"), model=PRESETS["mlp"])


def test_init_normal_vocab_is_for_transformers_only():
    with pytest.raises(SpecError, match="init='normal_vocab' is for arch='transformer'"):
        ModelSpec(arch="mlp", init="normal_vocab")


def test_nanda2023_preset_in_a_config_brings_nandas_layout_unless_the_layout_is_given():
    spec = spec_from_dict({"model": {"preset": "nanda2023"}, "data": {"op": "add", "p": 7}})
    assert spec.data.layout == "x_y_eq"
    assert spec.model.init == "normal_vocab"
    given = {"model": {"preset": "nanda2023"}, "data": {"op": "add", "p": 7, "layout": "x_op_y_eq"}}
    assert spec_from_dict(given).data.layout == "x_op_y_eq"
    assert spec_from_dict({"data": {"op": "add", "p": 7}}).data.layout == "x_op_y_eq"
