"""Tests for src/groklab/spec.py: validation, members, seeds, canonical JSON and run ids."""

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, fields, replace

import numpy as np
import pytest

from groklab.errors import GroklabError, SpecError
from groklab.spec import (
    ACTIVATIONS,
    DTYPES,
    LATE_FIELDS,
    MEMBER_FIELDS,
    NORMS,
    OPTIMIZERS,
    POSITIONS,
    PRESETS,
    SECTIONS,
    DataSpec,
    InterventionSpec,
    MemberSpec,
    ModelSpec,
    OptimSpec,
    RunSpec,
    TrainSpec,
    canonical_json,
    members_from,
    parse_seeds,
)

TINY = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=20),
    members=members_from(seed=[0, 1]),
)


def one_line_error(exc_info: pytest.ExceptionInfo, *fragments: str) -> str:
    """The message of a raised error, checked to be one line holding every fragment."""
    message = str(exc_info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# -- each dataclass checks itself -------------------------------------------------------------


def test_d_model_not_divisible_by_n_heads_error_names_both_values():
    with pytest.raises(SpecError) as e:
        ModelSpec(d_model=30, n_heads=4)
    one_line_error(e, "d_model=30", "n_heads=4", "divisible")


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.0, 1.5, -0.25])
def test_train_fraction_outside_open_unit_interval_is_rejected_with_allowed_range(fraction):
    with pytest.raises(SpecError) as e:
        MemberSpec(train_fraction=fraction)
    one_line_error(e, "train_fraction=", str(fraction), "(0.0, 1.0)")


def test_negative_seed_is_rejected_naming_the_value():
    with pytest.raises(SpecError) as e:
        MemberSpec(seed=-1)
    one_line_error(e, "seed=-1", "allowed")


def test_negative_n_outliers_is_rejected_naming_the_value():
    with pytest.raises(SpecError) as e:
        MemberSpec(n_outliers=-2)
    one_line_error(e, "n_outliers=-2", ">= 0")


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (TrainSpec, "steps", 1.5),
        (TrainSpec, "steps", True),
        (TrainSpec, "eval_every", "10"),
        (ModelSpec, "n_layers", 2.0),
        (OptimSpec, "warmup_steps", 0.5),
        (MemberSpec, "seed", 1.0),
    ],
)
def test_non_integer_count_is_rejected_as_not_an_integer(cls, name, value):
    with pytest.raises(SpecError) as e:
        cls(**{name: value})
    one_line_error(e, f"{name}={value!r}", "not an integer")


@pytest.mark.parametrize(
    ("cls", "name", "choices"),
    [
        (OptimSpec, "optimizer", OPTIMIZERS),
        (ModelSpec, "act", ACTIVATIONS),
        (ModelSpec, "norm", NORMS),
        (ModelSpec, "positions", POSITIONS),
        (TrainSpec, "dtype", DTYPES),
    ],
)
def test_unknown_choice_error_is_one_line_and_lists_choices(cls, name, choices):
    with pytest.raises(SpecError) as e:
        cls(**{name: "bogus"})
    one_line_error(e, f"{name}='bogus'", *choices)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1e-3, 0.0])
def test_lr_must_be_a_finite_positive_number(value):
    with pytest.raises(SpecError) as e:
        MemberSpec(lr=value)
    one_line_error(e, "lr=")


def test_weight_decay_of_infinity_is_rejected():
    with pytest.raises(SpecError) as e:
        MemberSpec(weight_decay=float("inf"))
    one_line_error(e, "weight_decay=inf", "finite")


def test_spec_errors_are_groklab_errors_and_value_errors():
    with pytest.raises(GroklabError):
        MemberSpec(seed=-1)
    with pytest.raises(ValueError):
        MemberSpec(seed=-1)


def test_unknown_op_error_is_one_line_and_lists_choices():
    with pytest.raises(SpecError) as e:
        DataSpec(op="pow", p=7)
    one_line_error(e, "'pow'", "add", "div", "s5_xyx")


def test_div_with_composite_p_is_rejected_naming_p():
    with pytest.raises(SpecError) as e:
        DataSpec(op="div", p=12)
    one_line_error(e, "p=12", "prime")


def test_run_spec_with_no_members_is_rejected():
    with pytest.raises(SpecError) as e:
        RunSpec(members=())
    one_line_error(e, "members=()")


def test_run_spec_rejects_a_member_that_is_not_a_member_spec():
    with pytest.raises(SpecError) as e:
        RunSpec(members=({"seed": 0},))
    one_line_error(e, "{'seed': 0}", "MemberSpec")


def test_run_spec_rejects_a_section_of_the_wrong_type():
    with pytest.raises(SpecError) as e:
        RunSpec(model="nanda2023")
    one_line_error(e, "model='nanda2023'", "ModelSpec")


def test_specs_are_frozen():
    with pytest.raises(AttributeError):
        TINY.train.steps = 5  # type: ignore[misc]


def test_d_head_is_d_model_over_n_heads():
    assert ModelSpec(d_model=48, n_heads=3).d_head == 16


def test_every_preset_is_a_valid_model_spec():
    assert {"power2022", "nanda2023", "mlp", "omnigrok_mnist", "omnigrok_imdb"} <= set(PRESETS)
    assert all(isinstance(m, ModelSpec) for m in PRESETS.values())
    assert PRESETS["nanda2023"].n_layers == 1 and PRESETS["nanda2023"].norm == "none"


# -- members ------------------------------------------------------------------------------------


def test_members_from_broadcasts_scalars_against_lists():
    members = members_from(seed=[0, 1, 2], lr=1e-2, weight_decay=[0.5])
    assert [m.seed for m in members] == [0, 1, 2]
    assert {m.lr for m in members} == {1e-2}
    assert {m.weight_decay for m in members} == {0.5}


def test_members_from_pairs_lists_of_equal_length_elementwise():
    members = members_from(seed=[3, 4], train_fraction=[0.3, 0.6])
    assert [(m.seed, m.train_fraction) for m in members] == [(3, 0.3), (4, 0.6)]


def test_members_from_scalars_only_gives_one_member():
    assert members_from(lr=3e-3) == (MemberSpec(lr=3e-3),)


def test_members_from_accepts_a_seed_string():
    assert [m.seed for m in members_from(seed="0-2,9")] == [0, 1, 2, 9]


def test_members_from_unequal_lists_error_names_fields_and_lengths():
    with pytest.raises(SpecError) as e:
        members_from(seed=[0, 1, 2], lr=[1e-3, 1e-2])
    one_line_error(e, "seed: 3", "lr: 2", "equal")


def test_members_from_empty_list_is_rejected():
    with pytest.raises(SpecError) as e:
        members_from(seed=[])
    one_line_error(e, "empty")


def test_members_from_unknown_field_lists_allowed_fields():
    with pytest.raises(SpecError) as e:
        members_from(sead=[0, 1])
    one_line_error(e, "'sead'", *MEMBER_FIELDS)


def test_members_from_checks_each_member():
    with pytest.raises(SpecError) as e:
        members_from(seed=[0, 1], train_fraction=[0.5, 1.5])
    one_line_error(e, "train_fraction=1.5")


# -- seeds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seeds"),
    [
        ("0-7", list(range(8))),
        ("0,3,5", [0, 3, 5]),
        ("0-2,9", [0, 1, 2, 9]),
        ("4", [4]),
        (" 1 - 3 , 7", [1, 2, 3, 7]),
    ],
)
def test_parse_seeds_reads_ranges_and_lists(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["x", "", "0-x", "1.5", "-1", "3-", "0,,2", "5-3", "0-2,5-3"])
def test_parse_seeds_rejects_malformed_text_naming_it(text):
    with pytest.raises(SpecError) as e:
        parse_seeds(text)
    one_line_error(e, f"seeds={text!r}")


@pytest.mark.parametrize("text", ["1,1", "0-3,2"])
def test_parse_seeds_rejects_duplicates(text):
    with pytest.raises(SpecError) as e:
        parse_seeds(text)
    one_line_error(e, f"seeds={text!r}", "distinct")


# -- canonical JSON and ids ---------------------------------------------------------------------


def test_run_id_is_r_dash_and_ten_hex_characters():
    assert re.fullmatch(r"r-[0-9a-f]{10}", TINY.run_id)


def test_run_id_is_stable_across_processes():
    code = (
        "from groklab.spec import *\n"
        "print(RunSpec(data=DataSpec(op='add', p=7),"
        " model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),"
        " train=TrainSpec(steps=20), members=members_from(seed=[0, 1])).run_id)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a salted hash() would change the id
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == TINY.run_id


def test_equal_specs_built_separately_have_equal_ids():
    again = RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(steps=20),
        members=(MemberSpec(seed=0), MemberSpec(seed=1)),
    )
    assert again == TINY and again.run_id == TINY.run_id


# One changed value for every field of every section; the test below fails if a field is added
# without one, so no field can silently be left out of the id.
CHANGED = {
    "data": {"op": "sub", "p": 11, "dataset": "teacher_student", "layout": "x_y_eq"},
    "model": {
        "arch": "mlp",
        "n_layers": 2,
        "d_model": 32,
        "n_heads": 4,
        "d_mlp": 64,
        "act": "gelu",
        "norm": "pre",
        "positions": "learned",
        "attn_bias": True,
        "mlp_bias": True,
        "init": "normal",
    },
    "optim": {
        "optimizer": "sgd",
        "beta1": 0.8,
        "beta2": 0.99,
        "eps": 1e-6,
        "momentum": 0.5,
        "warmup_steps": 0,
        "schedule": "cosine",
        "decay_to": "init",
        "grad_clip": 5.0,
        "transforms": ("orthograd",),
        "grokfast_ma_window": 10,
        "step_every": 100,
        "step_factor": 0.5,
        "muon_momentum": 0.9,
        "muon_nesterov": False,
        "muon_ns_steps": 3,
        "group_lr": ("embed=0.001",),
        "group_weight_decay": ("embed=0.0",),
    },
    "interventions": {"norm_constraint": True},
    "train": {
        "steps": 21,
        "batch_size": "full",
        "eval_every": 7,
        "stop_at_val_acc": 0.99,
        "stop_patience": 3,
        "dtype": "bf16",
        "loss_dtype": "float64",
        "loss": "mse",
    },
}
# Model fields that only the MLP reads: a changed value on an MLP.
CHANGED_MLP = {"inputs": "onehot", "leaky_slope": 0.2}
# Data fields that only some data sets read: (a data set that reads it, a changed value).
CHANGED_DATA = {
    "n_examples": ("teacher_student", 50),
    "messiness": ("toy_add", 0.5),
    "seq_len": ("imdb", 64),
    "n_words": ("imdb", 200),
    "source": ("mnist", "/data/mnist"),
    "data_seed": ("teacher_student", 3),
}
CHANGED_MEMBER = {
    "seed": 5,
    "train_fraction": 0.3,
    "lr": 1e-2,
    "weight_decay": 0.0,
    "init_scale": 2,
    "dropout": 0.1,
    "n_outliers": 1,
    "grad_noise": 0.01,
    "update_noise": 0.01,
    "weight_noise": 0.01,
    "n_train": 3,
    "grokfast_ema_alpha": 0.9,
    "grokfast_ema_lamb": 1.0,
    "grokfast_ma_lamb": 2.0,
    "muon_lr": 0.05,
}


def test_changed_values_cover_every_field():
    for section, cls in SECTIONS.items():
        names = set(CHANGED[section]) | (set(CHANGED_DATA) if section == "data" else set())
        names |= set(CHANGED_MLP) if section == "model" else set()
        assert names == {f.name for f in fields(cls)}, section
    assert set(CHANGED_MEMBER) == set(MEMBER_FIELDS)


@pytest.mark.parametrize(
    ("section", "name"), [(s, n) for s, values in CHANGED.items() for n in values]
)
def test_run_id_changes_when_any_section_field_changes(section, name):
    changed = replace(getattr(TINY, section), **{name: CHANGED[section][name]})
    other = replace(TINY, **{section: changed})
    assert other.run_id != TINY.run_id
    assert other.shape_key != TINY.shape_key


@pytest.mark.parametrize("name", sorted(CHANGED_MLP))
def test_run_id_changes_when_an_mlp_field_changes(name):
    base = replace(TINY, model=ModelSpec(arch="mlp"))
    changed = replace(TINY, model=ModelSpec(arch="mlp", **{name: CHANGED_MLP[name]}))
    assert changed.run_id != base.run_id and changed.shape_key != base.shape_key


@pytest.mark.parametrize("name", sorted(CHANGED_DATA))
def test_a_data_field_changes_the_run_id_only_for_data_sets_that_read_it(name):
    dataset, value = CHANGED_DATA[name]
    base = replace(TINY, data=DataSpec(dataset=dataset))
    changed = replace(TINY, data=DataSpec(dataset=dataset, **{name: value}))
    assert changed.run_id != base.run_id
    table = replace(TINY, data=replace(TINY.data, **{name: value}))
    assert table.run_id == TINY.run_id and getattr(table.data, name) == getattr(TINY.data, name)


def test_fields_added_later_leave_old_run_ids_alone():
    # The id of the default spec before data sets, losses, clipping and n_train existed.
    assert RunSpec().run_id == "r-45ee8a86f1"


@pytest.mark.parametrize("name", MEMBER_FIELDS)
def test_run_id_changes_when_any_member_field_changes(name):
    members = (replace(TINY.members[0], **{name: CHANGED_MEMBER[name]}), TINY.members[1])
    assert replace(TINY, members=members).run_id != TINY.run_id


def test_run_id_changes_with_member_order_and_count():
    assert replace(TINY, members=TINY.members[::-1]).run_id != TINY.run_id
    assert replace(TINY, members=TINY.members[:1]).run_id != TINY.run_id


def test_an_int_and_the_equal_float_give_the_same_run_id():
    as_int = RunSpec(members=(MemberSpec(lr=1, weight_decay=1, init_scale=2),))
    as_float = RunSpec(members=(MemberSpec(lr=1.0, weight_decay=1.0, init_scale=2.0),))
    assert as_int.run_id == as_float.run_id
    assert isinstance(as_int.members[0].lr, float)


def test_numpy_integer_p_gives_the_same_run_id_as_int_p():
    assert (
        RunSpec(data=DataSpec(op="add", p=np.int64(7))).run_id
        == RunSpec(data=DataSpec(op="add", p=7)).run_id
    )


def test_canonical_json_is_key_sorted_without_spaces():
    text = canonical_json(TINY)
    assert " " not in text
    full = json.loads(json.dumps(asdict(TINY)))  # tuples become lists
    late = set(LATE_FIELDS["model"])  # left out at their defaults
    assert json.loads(text)["model"] == {k: v for k, v in full["model"].items() if k not in late}
    assert json.loads(text)["data"] == {"op": full["data"]["op"], "p": full["data"]["p"]}
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    top_keys = list(json.loads(text))
    assert top_keys == sorted(top_keys)


def test_run_id_does_not_depend_on_a_default_spelled_out():
    explicit = replace(TINY, interventions=InterventionSpec(norm_constraint=False))
    assert explicit.run_id == TINY.run_id


def test_shape_key_is_equal_for_specs_differing_only_in_members():
    other = replace(TINY, members=members_from(seed=[7, 8, 9], lr=[1e-2, 2e-2, 3e-2]))
    assert other.shape_key == TINY.shape_key
    assert other.run_id != TINY.run_id


def test_n_members_and_summary_describe_the_population():
    spec = replace(TINY, members=members_from(seed="0-5"))
    assert spec.n_members == 6
    assert spec.summary() == "add p=7 transformer1x16 adamw steps=20 seeds=0,1,2,3,..."


def test_s5_tasks_ignore_p_so_one_task_has_one_run_id():
    from groklab.spec import DataSpec, RunSpec

    a = RunSpec(data=DataSpec(op="s5_mul", p=97))
    b = RunSpec(data=DataSpec(op="s5_mul", p=31))
    assert a.data.p == b.data.p == 5 and a.run_id == b.run_id
