"""Tests for src/groklab/bench/methods.py and tasks.py: each method's spec change is the one its
paper's settings call for, written out here by hand, and every task builds at every size."""

import pytest

from groklab.bench import METHODS, TASKS, Method, bench_spec, get_method, get_task
from groklab.errors import GroklabError

# method -> (optimizer, transforms, weight decay, loss, lr over the task's, extra member fields)
EXPECTED = {
    "adamw": ("adamw", (), 1.0, "ce", 1.0, {}),
    "adamw-lr3": ("adamw", (), 1.0, "ce", 3.0, {}),
    "adam": ("adam", (), 0.0, "ce", 1.0, {}),
    "grokfast-ema": ("adam_l2", ("grokfast_ema",), 0.005, "ce", 1.0,
                     {"grokfast_ema_alpha": 0.98, "grokfast_ema_lamb": 2.0}),
    "grokfast-ma": ("adam_l2", ("grokfast_ma",), 0.01, "ce", 1.0, {"grokfast_ma_lamb": 5.0}),
    "orthograd": ("adamw", ("orthograd",), 0.0, "ce", 1.0, {}),
    "stablemax": ("adamw", (), 0.0, "stablemax", 1.0, {}),
    "stablemax-orthograd": ("adamw", ("orthograd",), 0.0, "stablemax", 1.0, {}),
    "muon": ("muon", (), 0.1, "ce", 1.0, {"muon_lr": 0.02}),
    "adamw-wd8": ("adamw", (), 8.0, "ce", 1.0, {}),
    "egd": ("adam_l2", ("egd",), 0.005, "ce", 1.0, {}),
}  # fmt: skip


def test_the_registry_holds_exactly_the_issue_s_methods():
    assert set(METHODS) == set(EXPECTED)
    assert set(TASKS) == {"nanda-add", "power-div", "s5", "prieto-add"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("task_name", ["nanda-add", "prieto-add"])
def test_each_method_changes_the_task_s_run_as_its_paper_says(name, task_name):
    optimizer, transforms, wd, loss, lr_scale, extra = EXPECTED[name]
    task = get_task(task_name)
    spec = bench_spec(task, get_method(name), "paper", seeds=range(3))
    assert spec.optim.optimizer == optimizer and spec.optim.transforms == transforms
    assert spec.train.loss == loss and spec.train.stop_at_val_acc == 0.99
    assert [m.seed for m in spec.members] == [0, 1, 2]
    for m in spec.members:
        assert m.weight_decay == wd
        assert m.lr == pytest.approx(task.sizes["paper"].lr * lr_scale, rel=1e-12)
        assert m.train_fraction == task.sizes["paper"].train_fraction
        for field, value in extra.items():
            assert getattr(m, field) == value
    if name == "grokfast-ma":
        assert spec.optim.grokfast_ma_window == 100
    # the task's optimizer settings stay under the method's
    assert (spec.optim.beta1, spec.optim.beta2) == (0.9, task.optim["beta2"])


def test_the_paper_tasks_are_the_papers_setups():
    nanda = bench_spec(get_task("nanda-add"), get_method("adamw"), "paper", seeds=range(10))
    assert (nanda.data.op, nanda.data.p, nanda.data.layout) == ("add", 113, "x_y_eq")
    assert nanda.train.batch_size == "full" and nanda.members[0].train_fraction == 0.3
    assert nanda.model.n_layers == 1 and nanda.model.d_model == 128
    power = bench_spec(get_task("power-div"), get_method("adamw"), "paper", seeds=range(10))
    assert (power.data.op, power.data.p, power.train.batch_size) == ("div", 97, 512)
    assert power.members[0].train_fraction == 0.5 and power.model.n_layers == 2
    prieto = bench_spec(get_task("prieto-add"), get_method("adamw"), "paper", seeds=range(10))
    assert prieto.model.arch == "mlp" and prieto.model.inputs == "onehot"
    assert (prieto.data.p, prieto.members[0].train_fraction, prieto.members[0].lr) == (
        113,
        0.4,
        1e-2,
    )
    s5 = bench_spec(get_task("s5"), get_method("adamw"), "paper", seeds=range(10))
    assert s5.data.op == "s5_mul"


@pytest.mark.parametrize("size", ["paper", "quick", "micro"])
def test_every_task_and_method_builds_at_every_size(size):
    for task in TASKS.values():
        for method in METHODS.values():
            bench_spec(task, method, size, seeds=range(2))  # checks itself
        assert task.shrunk("paper") == ""
        if size != "paper":
            assert task.shrunk(size)  # a shrunk size says what it shrank


def test_a_method_that_does_not_apply_to_a_task_is_refused_by_name():
    only_mlp = Method("mlp-only", "x", "c", "s", archs=("mlp",))
    with pytest.raises(GroklabError, match="'mlp-only' applies to mlp models; task 'nanda-add'"):
        bench_spec(get_task("nanda-add"), only_mlp, "micro", seeds=range(2))
    bench_spec(get_task("prieto-add"), only_mlp, "micro", seeds=range(2))


def test_a_selection_naming_a_task_or_method_twice_is_refused():
    from groklab.bench import check_selection

    with pytest.raises(GroklabError, match="method 'adamw' is named twice"):
        check_selection(["nanda-add"], ["adamw", "egd", "adamw"], seeds=2)
    with pytest.raises(GroklabError, match="task 's5' is named twice"):
        check_selection(["s5", "s5"], ["adamw"], seeds=2)
