"""Tests for src/groklab/sweep/grid.py: expanding a grid, packing populations, sweep files."""

import pytest

from groklab.errors import SpecError
from groklab.spec import PRESETS, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.sweep import SweepSpec, axis_name, expand, load_sweep, pack
from groklab.sweep import grid as grid_module

TINY = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)
BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=TINY,
    train=TrainSpec(steps=20, eval_every=10),
    members=members_from(seed=0, lr=3e-3, weight_decay=0.5),
)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_expand_is_the_cartesian_product_in_grid_order_last_axis_fastest():
    sweep = SweepSpec(BASE, grid=(("train_fraction", (0.3, 0.5, 0.7)), ("seed", (0, 1))))
    points = expand(sweep)
    got = [(p.members[0].train_fraction, p.members[0].seed) for p in points]
    assert got == [(f, s) for f in (0.3, 0.5, 0.7) for s in (0, 1)]
    assert all(p.n_members == 1 for p in points)
    assert sweep.n_points == 6


def test_member_axes_set_the_member_and_section_axes_set_the_section():
    sweep = SweepSpec(BASE, grid={"weight_decay": [0.0, 1.0], "optim.optimizer": ["adam"]})
    a, b = expand(sweep)
    assert (a.members[0].weight_decay, b.members[0].weight_decay) == (0.0, 1.0)
    assert a.optim == b.optim == OptimSpec(optimizer="adam")
    # every field not on the grid comes from the base and its first member
    assert a.members[0].lr == 3e-3 and a.data == BASE.data and a.model == TINY


def test_bare_unique_section_field_resolves_to_section_dot_field():
    assert axis_name("optimizer") == "optim.optimizer"
    assert axis_name("n_layers") == "model.n_layers"
    assert axis_name("members.seed") == "seed"
    sweep = SweepSpec(BASE, grid={"p": [7, 11]})
    assert sweep.axes == ("data.p",)
    assert [s.data.p for s in expand(sweep)] == [7, 11]


def test_unknown_grid_field_error_is_one_line_and_lists_allowed():
    with pytest.raises(SpecError) as e:
        SweepSpec(BASE, grid={"learning_rate": [1e-3]})
    message = one_line(e)
    assert "'learning_rate'" in message and "train_fraction" in message
    assert "optim.optimizer" in message


def test_bare_name_in_two_sections_is_ambiguous(monkeypatch):
    monkeypatch.setitem(grid_module.AXIS_TYPES, "train.optimizer", (str,))
    with pytest.raises(SpecError) as e:
        axis_name("optimizer")
    assert "ambiguous" in one_line(e) and "optim.optimizer, train.optimizer" in str(e.value)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ({"seed": []}, "empty"),
        ({"train_fraction": 0.5}, "not a list"),
        ({"optimizer": [1]}, "wrong type"),
        ({"seed": [0.5]}, "wrong type"),
        ({"model.preset": ["gpt"]}, "power2022"),
        ((("seed", (0,)), ("members.seed", (1,))), "twice"),
    ],
)
def test_bad_axis_values_are_one_line_errors(grid, needle):
    with pytest.raises(SpecError) as e:
        SweepSpec(BASE, grid=grid)
    assert needle in one_line(e)


def test_out_of_range_value_fails_at_expand_with_the_specs_message():
    sweep = SweepSpec(BASE, grid={"train_fraction": [0.5, 1.5]})
    with pytest.raises(SpecError) as e:
        expand(sweep)
    assert "train_fraction=1.5" in one_line(e)


def test_int_values_of_float_fields_give_the_same_points_as_floats():
    ints = expand(SweepSpec(BASE, grid={"weight_decay": [0, 1]}))
    floats = expand(SweepSpec(BASE, grid={"weight_decay": [0.0, 1.0]}))
    assert [s.run_id for s in ints] == [s.run_id for s in floats]


def test_numpy_arrays_and_scalars_give_the_same_points_as_lists():
    import numpy as np

    given = {"lr": np.array([1e-3, 3e-3]), "seed": [np.int64(0), np.int64(2)]}
    plain = {"lr": [1e-3, 3e-3], "seed": [0, 2]}
    from_numpy, from_lists = SweepSpec(BASE, grid=given), SweepSpec(BASE, grid=plain)
    assert from_numpy.grid == from_lists.grid
    assert all(type(v) in (int, float) for _, values in from_numpy.grid for v in values)
    assert [s.run_id for s in expand(from_numpy)] == [s.run_id for s in expand(from_lists)]


def test_seed_axis_takes_the_seeds_syntax():
    sweep = SweepSpec(BASE, grid={"seed": "0-2,5"})
    assert sweep.grid == (("seed", (0, 1, 2, 5)),)


def test_model_preset_axis_replaces_the_model_and_model_axes_apply_on_top():
    sweep = SweepSpec(BASE, grid={"model.preset": ["mlp", "nanda2023"], "d_model": [16]})
    mlp, nanda = expand(sweep)
    assert mlp.model.arch == "mlp" and mlp.model.d_model == 16
    assert nanda.model.norm == PRESETS["nanda2023"].norm == "none"


def test_pack_merges_members_of_one_shape_in_point_order():
    points = expand(SweepSpec(BASE, grid={"train_fraction": [0.3, 0.5], "seed": [0, 1]}))
    (population,) = pack(points)
    assert population.members == tuple(p.members[0] for p in points)
    assert population.shape_key == points[0].shape_key


def test_pack_separates_shapes_and_keeps_first_seen_order():
    grid = {"seed": [0, 1], "optim.optimizer": ["adamw", "adam"]}
    points = expand(SweepSpec(BASE, grid=grid))  # adamw, adam, adamw, adam
    adamw, adam = pack(points)
    assert adamw.optim.optimizer == "adamw" and adam.optim.optimizer == "adam"
    assert [m.seed for m in adamw.members] == [m.seed for m in adam.members] == [0, 1]


def test_pack_splits_populations_at_max_members():
    points = expand(SweepSpec(BASE, grid={"seed": list(range(7))}))
    populations = pack(points, max_members=3)
    assert [p.n_members for p in populations] == [3, 3, 1]
    assert [m.seed for p in populations for m in p.members] == list(range(7))


def test_same_sweep_packs_to_the_same_run_ids():
    sweep = SweepSpec(BASE, grid={"train_fraction": [0.3, 0.5], "seed": [0, 1]}, max_members=3)
    first = [p.run_id for p in pack(expand(sweep), sweep.max_members)]
    again = [p.run_id for p in pack(expand(sweep), sweep.max_members)]
    assert first == again and len(set(first)) == 2


SWEEP_TOML = """
[data]
op = "add"
p = 7

[model]
preset = "power2022"
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32

[train]
steps = 20
eval_every = 10

[members]
lr = 3e-3

[grid]
train_fraction = [0.4, 0.6]
seed = "0-1"
optim.optimizer = ["adamw", "adam"]

[sweep]
max_members = 8
"""


def test_load_sweep_reads_sections_grid_and_options(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_TOML)
    sweep = load_sweep(path)
    assert sweep.axes == ("train_fraction", "seed", "optim.optimizer")
    assert sweep.max_members == 8 and sweep.n_points == 8
    assert sweep.base.model == TINY and sweep.base.members[0].lr == 3e-3
    assert [p.n_members for p in pack(expand(sweep), sweep.max_members)] == [4, 4]


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("[sweep]", "[sweeps]"), "unknown section 'sweeps'; allowed: data"),
        (("max_members = 8", "max_member = 8"), "unknown key 'max_member' in [sweep]"),
        (('seed = "0-1"', "seeds = [0, 1]"), "unknown grid field 'seeds'; allowed"),
        (("eval_every = 10", "eval_evry = 10"), "unknown key 'eval_evry' in [train]"),
        (('seed = "0-1"', "seed = []"), "empty"),
        (("[0.4, 0.6]", "[0.4, 1.6]"), "train_fraction=1.6"),
        (("lr = 3e-3", 'seed = "0-3"'), "[members] gives 4 members"),
        (("max_members = 8", "max_members = 0"), "max_members=0"),
        (("p = 7", "p = 7 ="), "not valid TOML"),
    ],
)
def test_bad_sweep_files_are_one_line_spec_errors(tmp_path, edit, needle):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_TOML.replace(*edit))
    with pytest.raises(SpecError) as e:
        load_sweep(path)
    assert needle in one_line(e)
