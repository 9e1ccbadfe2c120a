"""Tests for src/groklab/config.py: RunSpec <-> TOML, presets, and one-line errors."""

import sys
from dataclasses import fields

import pytest

from groklab.config import load_spec, save_spec, spec_from_dict, spec_to_dict
from groklab.errors import GroklabError, SpecError
from groklab.spec import (
    MEMBER_FIELDS,
    PRESETS,
    SECTIONS,
    DataSpec,
    InterventionSpec,
    ModelSpec,
    OptimSpec,
    RunSpec,
    TrainSpec,
    members_from,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC = RunSpec(
    data=DataSpec(op="div", p=11),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32, act="gelu"),
    optim=OptimSpec(optimizer="adam_l2", beta2=0.99, eps=1e-9, decay_to="init"),
    interventions=InterventionSpec(norm_constraint=True),
    train=TrainSpec(steps=30, batch_size=16, stop_at_val_acc=0.95),
    members=members_from(
        seed=[0, 3, 5],
        lr=[1e-3, 3e-3, 0.1 + 0.2],
        weight_decay=1,
        dropout=0.1,
        n_outliers=[0, 2, 1],
    ),
)


def write(tmp_path, text: str, name: str = "run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(path) -> str:
    """The message load_spec raises for `path`, checked to be one line."""
    with pytest.raises(GroklabError) as e:
        load_spec(path)
    message = str(e.value)
    assert "\n" not in message, message
    return message


def test_save_then_load_gives_an_equal_spec_with_the_same_run_id(tmp_path):
    save_spec(SPEC, tmp_path / "run.toml")
    loaded = load_spec(tmp_path / "run.toml")
    assert loaded == SPEC
    assert loaded.run_id == SPEC.run_id


def test_saved_file_has_one_table_per_section_and_members_as_lists(tmp_path):
    save_spec(SPEC, tmp_path / "run.toml")
    d = tomllib.loads((tmp_path / "run.toml").read_text())
    assert set(d) == {*SECTIONS, "members"}
    assert d["members"]["seed"] == [0, 3, 5]
    assert set(d["members"]) == set(MEMBER_FIELDS)


def test_save_leaves_no_temporary_file_beside_the_config(tmp_path):
    save_spec(SPEC, tmp_path / "run.toml")
    assert [p.name for p in tmp_path.iterdir()] == ["run.toml"]


def test_save_into_a_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(GroklabError) as e:
        save_spec(SPEC, tmp_path / "missing" / "run.toml")
    assert "missing" in str(e.value) and "\n" not in str(e.value)


def test_dict_round_trip_keeps_the_spec():
    assert spec_from_dict(spec_to_dict(SPEC)) == SPEC


def test_empty_file_gives_the_default_spec(tmp_path):
    assert load_spec(write(tmp_path, "")) == RunSpec()


def test_preset_with_an_override_keeps_the_rest_of_the_preset(tmp_path):
    path = write(tmp_path, '[model]\npreset = "nanda2023"\nd_model = 64\n')
    model = load_spec(path).model
    nanda = PRESETS["nanda2023"]
    assert model.d_model == 64
    assert (model.n_layers, model.norm, model.positions, model.init, model.mlp_bias) == (
        nanda.n_layers,
        nanda.norm,
        nanda.positions,
        nanda.init,
        nanda.mlp_bias,
    )


def test_unknown_preset_lists_the_presets(tmp_path):
    message = load_error(write(tmp_path, '[model]\npreset = "gpt2"\n'))
    assert "'gpt2'" in message and all(name in message for name in PRESETS)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_unknown_key_in_a_section_is_named_with_the_allowed_keys(tmp_path, section):
    message = load_error(write(tmp_path, f"[{section}]\nbogus_key = 1\n"))
    assert "'bogus_key'" in message and f"[{section}]" in message
    assert all(f.name in message for f in fields(SECTIONS[section]))


def test_unknown_member_field_is_named_with_the_allowed_fields(tmp_path):
    message = load_error(write(tmp_path, "[members]\nseeds = [0, 1]\n"))
    assert "'seeds'" in message and all(name in message for name in MEMBER_FIELDS)


def test_unknown_section_is_named_with_the_allowed_sections(tmp_path):
    message = load_error(write(tmp_path, "[modle]\nd_model = 64\n"))
    assert "'modle'" in message and all(name in message for name in (*SECTIONS, "members"))


def test_a_section_that_is_not_a_table_is_rejected(tmp_path):
    message = load_error(write(tmp_path, "train = 5\n"))
    assert "'train'" in message and "[train]" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[data]\np = "x"\n', "p='x'"),
        ("[train]\nsteps = 1.5\n", "steps=1.5"),
        ("[model]\nattn_bias = 1\n", "attn_bias=1"),
        ("[optim]\nbeta1 = true\n", "beta1=True"),
        ('[members]\nlr = "fast"\n', "lr='fast'"),
        ("[members]\nseed = [0, 1.5]\n", "seed=1.5"),
    ],
)
def test_wrong_type_is_a_one_line_error_naming_key_and_value(tmp_path, text, fragment):
    message = load_error(write(tmp_path, text))
    assert fragment in message and "wrong type" in message


def test_out_of_range_value_in_a_file_is_a_one_line_error(tmp_path):
    message = load_error(write(tmp_path, "[members]\ntrain_fraction = 1.5\n"))
    assert "train_fraction=1.5" in message


def test_an_integer_for_a_float_field_reads_as_that_float(tmp_path):
    spec = load_spec(write(tmp_path, "[members]\nweight_decay = 1\nlr = 1\n"))
    assert spec.members[0].weight_decay == 1.0 and isinstance(spec.members[0].lr, float)
    assert spec.run_id == RunSpec(members=members_from(weight_decay=1.0, lr=1.0)).run_id


def test_malformed_toml_is_a_one_line_error_naming_the_file(tmp_path):
    path = write(tmp_path, "[data\np = 7\n", name="broken.toml")
    message = load_error(path)
    assert "broken.toml" in message and "TOML" in message


def test_missing_file_is_a_one_line_error_naming_the_file(tmp_path):
    message = load_error(tmp_path / "nope.toml")
    assert "nope.toml" in message


def test_a_directory_instead_of_a_file_is_a_one_line_error(tmp_path):
    message = load_error(tmp_path)
    assert str(tmp_path) in message


def test_unequal_member_lists_are_a_one_line_error(tmp_path):
    message = load_error(write(tmp_path, "[members]\nseed = [0, 1, 2]\nlr = [1e-3, 1e-2]\n"))
    assert "seed: 3" in message and "lr: 2" in message


def test_member_scalars_broadcast_against_lists(tmp_path):
    spec = load_spec(write(tmp_path, "[members]\nseed = [4, 5]\nweight_decay = 0.3\n"))
    assert [(m.seed, m.weight_decay) for m in spec.members] == [(4, 0.3), (5, 0.3)]


def test_seeds_as_a_range_string_make_one_member_each(tmp_path):
    spec = load_spec(write(tmp_path, '[members]\nseed = "0-3"\ntrain_fraction = 0.3\n'))
    assert [m.seed for m in spec.members] == [0, 1, 2, 3]
    assert {m.train_fraction for m in spec.members} == {0.3}


def test_bad_seed_string_is_a_one_line_error(tmp_path):
    message = load_error(write(tmp_path, '[members]\nseed = "0-x"\n'))
    assert "seeds='0-x'" in message


def test_members_as_an_array_of_tables_give_one_member_each(tmp_path):
    spec = load_spec(write(tmp_path, "[[members]]\nseed = 3\n[[members]]\nseed = 4\nlr = 0.01\n"))
    assert [(m.seed, m.lr) for m in spec.members] == [(3, 1e-3), (4, 0.01)]


def test_readme_run_file_loads(tmp_path):
    text = """
[data]
op = "div"
p = 97

[model]
preset = "power2022"

[optim]
optimizer = "adamw"
decay_to = "origin"

[train]
steps = 20000
batch_size = "power"
stop_at_val_acc = 0.99

[members]
seed = "0-3"
train_fraction = 0.5
weight_decay = 1.0
"""
    spec = load_spec(write(tmp_path, text))
    assert spec.n_members == 4 and spec.model == PRESETS["power2022"]
    assert spec.train == TrainSpec(steps=20000, batch_size="power", stop_at_val_acc=0.99)


def test_spec_errors_from_config_are_spec_errors(tmp_path):
    with pytest.raises(SpecError):
        load_spec(write(tmp_path, "[data]\nop = 'pow'\n"))


def test_optim_group_tables_are_the_flat_group_fields():
    tables = {
        "groups": {"representation": {"lr": 1e-3, "weight_decay": 0}, "decoder": {"lr": 1e-4}}
    }
    flat = {
        "group_lr": ["representation=1e-3", "decoder=1e-4"],
        "group_weight_decay": "representation=0",
    }
    a, b = spec_from_dict({"optim": tables}), spec_from_dict({"optim": flat})
    assert a.optim.group_lr == ("decoder=0.0001", "representation=0.001")
    assert a.optim.group_weight_decay == ("representation=0.0",)
    assert a.run_id == b.run_id


@pytest.mark.parametrize(
    ("groups", "words"),
    [({"representation": {"momentum": 0.9}}, "unknown key 'momentum' in [optim.groups.repr"),
     ({"representation": {"lr": "fast"}}, "lr='fast' is not a number"),
     ({"representation": 3}, "is not tables of groups")],
)  # fmt: skip
def test_bad_optim_group_tables_are_one_line(groups, words):
    with pytest.raises(SpecError) as err:
        spec_from_dict({"optim": {"groups": groups}})
    assert words in str(err.value) and "\n" not in str(err.value)
