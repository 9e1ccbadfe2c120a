import numpy as np

from groklab.analysis.settings import (
    best_val_text,
    member_groups,
    run_differences,
    setting_text,
    shared_settings,
    task_text,
)


def wd_population() -> list[dict]:
    """README's example: --seeds 0-3 --weight-decay 0.3,1,1,3 (stored member specs)."""
    return [{"seed": s, "weight_decay": wd} for s, wd in enumerate((0.3, 1.0, 1.0, 3.0))]


def plain_groups(specs: list[dict]) -> list[tuple[int, ...]]:
    """The grouping written out: members are together iff all fields but the seed agree."""
    keys = [tuple(sorted((k, v) for k, v in s.items() if k != "seed")) for s in specs]
    return [tuple(i for i, k in enumerate(keys) if k == key) for key in dict.fromkeys(keys)]


def test_members_differing_in_weight_decay_are_grouped_and_labelled_by_it():
    groups = member_groups(wd_population())
    assert [g.indices for g in groups] == plain_groups(wd_population())
    assert [g.label for g in groups] == ["wd 0.3", "wd 1 (2 seeds)", "wd 3"]


def test_members_differing_only_in_seed_form_one_unlabelled_group():
    groups = member_groups([{"seed": s} for s in range(3)])
    assert [(g.label, g.indices) for g in groups] == [("", (0, 1, 2))]


def test_groups_label_every_field_that_differs():
    specs = [{"seed": 0, "lr": 1e-3, "init_scale": 1.0}, {"seed": 0, "lr": 1e-2, "init_scale": 3.0}]
    assert [g.label for g in member_groups(specs)] == ["lr 0.001, init 1", "lr 0.01, init 3"]


def test_shared_settings_name_fraction_lr_and_wd_but_not_what_differs():
    assert shared_settings(wd_population()) == "fraction 0.5, lr 0.001"
    assert shared_settings([{"init_scale": 3.0}]) == "fraction 0.5, lr 0.001, wd 1, init 3"
    assert shared_settings([{"n_train": 100}]) == "lr 0.001, wd 1, n_train 100"


def test_task_text_reads_a_stored_spec():
    assert task_text({"data": {"op": "add", "p": 59}}) == "add p=59"
    assert task_text({"data": {"dataset": "mnist"}}) == "mnist"


def test_run_differences_show_weight_decay_init_and_constraint():
    base = {"data": {"op": "add", "p": 59}, "members": [{"weight_decay": 1.0}]}
    constrained = base | {"interventions": {"norm_constraint": True}}
    scaled = base | {"members": [{"weight_decay": 0.0, "init_scale": 3.0}]}
    assert run_differences([base, constrained, scaled]) == [
        "wd 1, init 1, not constrained",
        "wd 1, init 1, constrained",
        "wd 0, init 3, not constrained",
    ]


def test_run_differences_leave_out_seeds_and_steps_and_show_member_lists():
    a = {"train": {"steps": 10}, "members": [{"seed": 0, "weight_decay": 0.3}, {"seed": 1}]}
    b = {"train": {"steps": 20}, "members": [{"seed": 5}]}
    assert run_differences([a, b]) == ["wd 0.3,1", "wd 1"]
    assert run_differences([a]) == [""]


def test_best_val_text_names_the_worst_members_best():
    val = np.array([[0.1, 1.0, 0.9], [0.2, 0.47, np.nan]])  # [M, S]
    assert best_val_text(val) == "1.000 (worst 0.470)"
    assert best_val_text(val[:1]) == "1.000"
    assert best_val_text(np.full((2, 0), np.nan)) == "-"
    assert best_val_text(np.array([[0.5], [np.nan]])) == "0.500 (worst -)"


def test_setting_text_forms():
    assert setting_text("weight_decay", 0.3) == "wd 0.3"
    assert setting_text("norm_constraint", True) == "constrained"
    assert setting_text("transforms", ()) == "transforms none"
    assert setting_text("optimizer", "sgd") == "optimizer sgd"
