"""Omnigrok's primitives in the trainer: data sets with features, MSE, the norm constraint in a
population, per-layer weight norms, float64 and gradient clipping."""

from dataclasses import replace

import torch

from groklab.run import train
from groklab.spec import (
    PRESETS,
    DataSpec,
    InterventionSpec,
    OptimSpec,
    RunSpec,
    TrainSpec,
    members_from,
)
from groklab.store import RunStore
from groklab.train.state import init_state, make_task
from groklab.train.step import train_step
from groklab.train.transforms import clip_grad

CPU = torch.device("cpu")
SMALL = replace(PRESETS["omnigrok_teacher"], d_mlp=16)
TEACHER = RunSpec(
    data=DataSpec(dataset="teacher_student", n_examples=60),
    model=SMALL,
    optim=OptimSpec(warmup_steps=0),
    train=TrainSpec(steps=300, batch_size="full", loss="mse", eval_every=100),
    members=members_from(seed=0, n_train=30, lr=3e-3, weight_decay=0.0, init_scale=2.0),
)


def test_a_small_student_fits_its_teachers_training_set(tmp_path):
    result = train(TEACHER, RunStore(tmp_path), device="cpu")
    loss = result.curves["train_loss"][0]
    assert loss[-1] < 0.05 * loss[0]


def test_constrained_members_do_not_influence_each_other():
    spec = replace(
        TEACHER,
        interventions=InterventionSpec(norm_constraint=True),
        train=replace(TEACHER.train, steps=20),
        members=members_from(
            seed=[0, 1], n_train=30, lr=3e-3, weight_decay=0.0, init_scale=[0.5, 3.0]
        ),
    )
    together = _final_flat(spec)
    for i, member in enumerate(spec.members):
        alone = _final_flat(replace(spec, members=(member,)))
        torch.testing.assert_close(together[i], alone[0])
        init = init_state(replace(spec, members=(member,)), make_task(spec, CPU), CPU)
        torch.testing.assert_close(together[i].norm(), init.population.flat[0].detach().norm())


def _final_flat(spec):
    task = make_task(spec, CPU)
    state = init_state(spec, task, CPU)
    for _ in range(spec.train.steps):
        train_step(state, task, spec)
    return state.population.flat.detach()


def test_layer_norms_are_logged_at_every_evaluation(tmp_path):
    store = RunStore(tmp_path)
    spec = replace(
        TEACHER, members=members_from(seed=[0, 1], n_train=30, lr=3e-3, init_scale=[1.0, 2.0])
    )
    result = train(spec, store, device="cpu")
    norms = store.read_layer_norms(spec.run_id)
    assert list(norms["step"]) == list(result.curves["step"])
    layers = [k for k in norms if k != "step"]
    assert "layers.0.weight" in layers and len(layers) == 6
    total = sum(norms[k] ** 2 for k in layers) ** 0.5  # [M, S]
    torch.testing.assert_close(torch.tensor(total), torch.tensor(result.curves["weight_norm"]))


def test_float64_trains_parameters_and_features_in_double():
    spec = replace(TEACHER, train=replace(TEACHER.train, dtype="float64", steps=2))
    task = make_task(spec, CPU)
    state = init_state(spec, task, CPU)
    train_step(state, task, spec)
    assert state.population.flat.dtype == task.inputs.dtype == torch.float64


def test_gradient_clipping_bounds_each_members_norm_separately():
    grad = torch.tensor([[3.0, 4.0], [0.3, 0.4]])  # norms 5 and 0.5
    clipped = clip_grad(grad, 1.0)
    torch.testing.assert_close(clipped.norm(dim=1), torch.tensor([1.0, 0.5]), atol=1e-5, rtol=0)
