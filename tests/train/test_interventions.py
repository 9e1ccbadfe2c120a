import torch

from groklab.data import make_table
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.train.state import init_state, make_task
from groklab.train.step import batch_loss, evaluate, project_norm, train_step

CPU = torch.device("cpu")
TINY = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32)


def setup(**members):
    spec = RunSpec(
        data=DataSpec(op="add", p=11),
        model=TINY,
        train=TrainSpec(steps=50),
        members=members_from(**{"seed": [0, 1], **members}),
    )
    task = make_task(spec, CPU)
    return spec, task, init_state(spec, task, CPU)


def test_label_noise_changes_exactly_n_answers_of_the_training_split():
    spec, task, _ = setup(n_outliers=[0, 5])
    clean = make_table("add", 11).targets
    assert torch.equal(task.targets[0], clean)
    changed = task.targets[1] != clean
    assert changed.sum() == 5
    assert task.masks[1][changed].all()  # only training answers are corrupted


def test_dropout_is_off_at_evaluation():
    spec, task, state = setup(dropout=0.5)
    first, second = evaluate(state, task, spec), evaluate(state, task, spec)
    for name in first:
        assert torch.equal(first[name], second[name])
    module = state.population.member_module(1)
    logits = module(task.inputs)
    hit = (logits.argmax(-1) == task.targets[1]).double()
    torch.testing.assert_close(first["val_acc"][1], hit[~task.masks[1]].mean())


def test_dropout_changes_the_training_loss():
    spec, task, state = setup(dropout=[0.0, 0.5])
    _, _, plain = setup(dropout=0.0)
    noisy, clean = batch_loss(state, task, spec), batch_loss(plain, task, spec)
    torch.testing.assert_close(noisy[0], clean[0])
    assert not torch.isclose(noisy[1], clean[1])


def test_weight_noise_changes_the_loss_but_leaves_stored_weights_unchanged():
    spec, task, state = setup(weight_noise=[0.0, 0.5])
    before = state.population.flat.detach().clone()
    _, _, plain = setup()
    noisy, clean = batch_loss(state, task, spec), batch_loss(plain, task, spec)
    assert torch.equal(state.population.flat.detach(), before)
    torch.testing.assert_close(noisy[0], clean[0])
    assert not torch.isclose(noisy[1], clean[1])


def test_gradient_and_update_noise_move_only_the_members_that_use_them():
    for name in ("grad_noise", "update_noise"):
        spec, task, state = setup(**{name: [0.0, 0.1]})
        _, _, plain = setup()
        for _ in range(3):
            train_step(state, task, spec)
            train_step(plain, task, spec)
        flat, ref = state.population.flat.detach(), plain.population.flat.detach()
        torch.testing.assert_close(flat[0], ref[0])
        assert not torch.allclose(flat[1], ref[1]), name


def test_norm_projection_restores_each_members_initial_norm_exactly():
    init = torch.randn(3, 40, generator=torch.Generator().manual_seed(0))
    flat = init * torch.tensor([[0.5], [2.0], [7.0]])
    project_norm(flat, init)
    torch.testing.assert_close(flat.norm(dim=1), init.norm(dim=1))


def test_init_scale_multiplies_each_members_norm_by_alpha():
    _, _, base = setup()
    _, _, scaled = setup(init_scale=[1.0, 3.0])
    norms, scaled_norms = base.population.flat.norm(dim=1), scaled.population.flat.norm(dim=1)
    torch.testing.assert_close(scaled_norms, norms * torch.tensor([1.0, 3.0]))
