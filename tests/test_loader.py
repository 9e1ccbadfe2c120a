"""Tests for src/groklab/loader.py: `groklab.load`, `export_member`, `load_exported`."""

import pytest
import torch

import groklab
from groklab.errors import GroklabError
from groklab.run import train
from groklab.spec import PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore

SPECS = {
    "table": RunSpec(
        data=DataSpec(op="add", p=11),
        model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
        train=TrainSpec(steps=60, eval_every=20),
        members=members_from(seed=[0, 1], lr=3e-3, train_fraction=[0.5, 0.7], n_outliers=[0, 3]),
    ),
    "teacher_student": RunSpec(
        data=DataSpec(dataset="teacher_student", n_examples=64),
        model=PRESETS["omnigrok_teacher"],
        train=TrainSpec(steps=30, eval_every=10, loss="mse", batch_size="full"),
        members=members_from(seed=[3, 4], lr=1e-3, n_train=[20, 30], init_scale=[1.0, 2.0]),
    ),
    "toy_add": RunSpec(
        data=DataSpec(dataset="toy_add", p=9),
        model=PRESETS["omnigrok_toy"],
        train=TrainSpec(steps=30, eval_every=10, loss="mse", batch_size="full"),
        members=members_from(seed=[0, 1], lr=1e-3, train_fraction=0.6),
    ),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_loaded_member_reproduces_its_stored_metrics_at_the_last_step(tmp_path, name):
    spec = SPECS[name]
    with RunStore(tmp_path) as store:
        curves = train(spec, store).curves
    for member in range(spec.n_members):
        model, task = groklab.load(spec.run_id[:6], member=member, store=tmp_path)
        assert isinstance(model, torch.nn.Module) and task.step == spec.train.steps
        assert task.train_mask.sum() > 0 and not (task.train_mask & task.val_mask).any()
        got = task.evaluate(model)
        for key in ("train_acc", "val_acc"):
            assert got[key] == curves[key][member, -1], (key, member)
        for key in ("train_loss", "val_loss"):
            assert got[key] == pytest.approx(curves[key][member, -1], rel=1e-5), (key, member)


def test_members_get_their_own_targets_and_masks(tmp_path):
    spec = SPECS["table"]
    with RunStore(tmp_path) as store:
        train(spec, store)
    _, first = groklab.load(spec.run_id, member=0, store=tmp_path)
    _, second = groklab.load(spec.run_id, member=1, store=tmp_path)
    assert first.train_mask.sum() < second.train_mask.sum()  # 50 % against 70 %
    assert torch.equal(first.inputs, second.inputs)
    assert not torch.equal(first.targets, second.targets)  # member 1 has 3 wrong answers


def test_export_then_load_exported_gives_the_same_module_and_task(tmp_path):
    spec = SPECS["table"]
    with RunStore(tmp_path / "store") as store:
        train(spec, store)
    out = groklab.export_member(spec.run_id, tmp_path / "m1.pt", member=1, store=tmp_path / "store")
    model, task = groklab.load(spec.run_id, member=1, store=tmp_path / "store")
    again, task_again = groklab.load_exported(out)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert torch.equal(task.val_mask, task_again.val_mask) and task_again.step == task.step
    assert torch.equal(model(task.inputs), again(task.inputs))


def test_bad_member_and_unkept_step_are_one_line_errors(tmp_path):
    spec = SPECS["table"]
    with RunStore(tmp_path) as store:
        train(spec, store)
    with pytest.raises(GroklabError, match=r"member=2 is not a member .* allowed: 0\.\.1"):
        groklab.load(spec.run_id, member=2, store=tmp_path)
    with pytest.raises(GroklabError, match=r"step=7 is not a kept step .* allowed: 60"):
        groklab.load(spec.run_id, step=7, store=tmp_path)
    with pytest.raises(GroklabError, match="no run matches"):
        groklab.load("r-ffffffffff", store=tmp_path)
