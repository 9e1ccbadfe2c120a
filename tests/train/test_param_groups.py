"""Per-parameter-group learning rate and weight decay (issue 22 part 2): a model declares named
groups (the toy's `representation` and `decoder`), `[optim] group_lr` / `group_weight_decay`
give a group its own values. The update equals torch's AdamW with one param group per model
group, member by member; the groups map to the right columns; a run resumes bit for bit; an
unknown group is one line naming those the model has; the run id moves only when used."""

import numpy as np
import pytest
import torch

from groklab.errors import SpecError
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train.optim import init_optim_state, optimizer_step
from groklab.train.state import init_state, make_task
from groklab.train.step import build_loss_fn, train_step

LR, WD = [1e-3, 1e-2], [0.0, 1.0]  # the members' own (the decoder's)
REPR_LR, REPR_WD = 3e-2, 0.0  # the representation group's
TOY = RunSpec(
    data=DataSpec(dataset="toy_add_symbols", p=7),
    model=ModelSpec(arch="toy", n_layers=2, d_model=1, n_heads=1, d_mlp=16, act="tanh"),
    optim=OptimSpec(
        warmup_steps=0, group_lr=f"representation={REPR_LR}", group_weight_decay="representation=0"
    ),
    train=TrainSpec(steps=30, eval_every=10, loss="mse", batch_size="full"),
    members=members_from(seed=[0, 1], lr=LR, weight_decay=WD, n_train=20),
)


def test_groups_take_their_own_columns_and_the_rest_keep_the_members_values():
    task = make_task(TOY, torch.device("cpu"))
    state = init_state(TOY, task, torch.device("cpu"))
    names, sizes = state.population.names, state.population.sizes
    assert names[0] == "representation" and sizes[0] == 7  # [p, d = 1] first
    lr, wd = state.lr_columns, state.weight_decay_columns
    assert lr.shape == wd.shape == state.population.flat.shape
    assert (lr[:, :7] == REPR_LR).all() and (wd[:, :7] == REPR_WD).all()
    for m in range(2):
        assert (lr[m, 7:] == LR[m]).all() and (wd[m, 7:] == WD[m]).all()
    plain = init_state(RunSpec(**{**TOY.__dict__, "optim": OptimSpec()}), task, torch.device("cpu"))
    assert plain.lr_columns is None and plain.weight_decay_columns is None  # no groups: [M, 1]


def test_the_update_equals_torch_adamw_with_a_param_group_per_model_group():
    gen = torch.Generator().manual_seed(0)
    flat = torch.randn(2, 40, generator=gen)
    grads = [torch.randn(2, 40, generator=gen) for _ in range(6)]
    split = 12  # columns 0..11 are "the group", the rest the member's
    lr = torch.tensor(LR)[:, None].expand(-1, 40).clone()
    wd = torch.tensor(WD)[:, None].expand(-1, 40).clone()
    lr[:, :split], wd[:, :split] = REPR_LR, REPR_WD
    spec = OptimSpec(optimizer="adamw")
    ours = flat.clone()
    state = init_optim_state(ours, spec)
    for g in grads:
        optimizer_step(ours, g, state, spec=spec, lr=lr, weight_decay=wd, target=None)
    for m in range(2):
        group = torch.nn.Parameter(flat[m, :split].clone())
        rest = torch.nn.Parameter(flat[m, split:].clone())
        opt = torch.optim.AdamW(
            [{"params": [group], "lr": REPR_LR, "weight_decay": REPR_WD},
             {"params": [rest], "lr": LR[m], "weight_decay": WD[m]}], betas=(0.9, 0.98),
        )  # fmt: skip
        for g in grads:
            group.grad, rest.grad = g[m, :split].clone(), g[m, split:].clone()
            opt.step()
        torch.testing.assert_close(ours[m], torch.cat([group.detach(), rest.detach()]))


def test_a_run_with_groups_resumes_bit_for_bit(tmp_path, train_until):
    straight = train(TOY, RunStore(tmp_path / "a"))
    store = RunStore(tmp_path / "b")
    train_until(TOY, store, 10)
    resumed = train(TOY, store)
    for name in ("train_loss", "val_loss", "weight_norm"):
        assert np.array_equal(straight.curves[name], resumed.curves[name]), name


def test_the_representation_learns_at_its_own_rate():
    """With the decoder frozen (lr 0) only the representation moves; with the representation
    frozen only the decoder does: the group lr reaches exactly its columns."""
    task = make_task(TOY, torch.device("cpu"))
    for frozen, moving in (("decoder", slice(0, 7)), ("representation", slice(7, None))):
        spec = RunSpec(**{**TOY.__dict__, "optim": OptimSpec(
            warmup_steps=0, group_lr=f"{frozen}=0", group_weight_decay=f"{frozen}=0")})  # fmt: skip
        state = init_state(spec, task, torch.device("cpu"))
        start = state.population.flat.detach().clone()
        loss_fn = build_loss_fn(state, task, spec)
        for _ in range(3):
            train_step(state, task, spec, loss_fn)
        changed = (state.population.flat.detach() != start).any(0)  # [P]
        still = torch.ones_like(changed)
        still[moving] = False
        assert changed[moving].all() and not changed[still].any(), frozen


def test_an_unknown_group_is_one_line_naming_the_models_groups():
    spec = RunSpec(**{**TOY.__dict__, "optim": OptimSpec(group_lr="embed=1e-3")})
    task = make_task(spec, torch.device("cpu"))
    with pytest.raises(SpecError) as err:
        init_state(spec, task, torch.device("cpu"))
    assert str(err.value) == (
        "group_lr: the model has no parameter group 'embed'; it has: representation, decoder"
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [("representation", "is not group=value"), ("representation=-1", "finite number >= 0"),
     ("a=1,a=2", "given twice"), ("Bad=1", "is not group=value"), ("x=nan", "finite number")],
)  # fmt: skip
def test_bad_group_values_are_one_line_errors(value, words):
    with pytest.raises(SpecError, match=words):
        OptimSpec(group_lr=value)


def test_group_values_have_one_spelling_and_move_the_run_id_only_when_given():
    a = OptimSpec(group_lr="representation=1e-3,decoder=1e-4")
    b = OptimSpec(group_lr=("decoder=0.0001", "representation=0.001"))
    assert a.group_lr == b.group_lr == ("decoder=0.0001", "representation=0.001")
    assert RunSpec(optim=a).run_id == RunSpec(optim=b).run_id != RunSpec().run_id
    assert RunSpec().run_id == "r-45ee8a86f1"  # Power's default run: its id did not move
    with pytest.raises(SpecError, match="muon"):
        OptimSpec(optimizer="muon", group_lr="embed=1e-3")
