import pytest
import torch

from groklab.errors import SpecError
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, members_from
from groklab.train.optim import init_optim_state, lr_factor, optimizer_step
from groklab.train.state import init_state, make_task

LR = [1e-3, 3e-3, 1e-2]
WD = [0.0, 0.5, 1.0]


def run_ours(spec, flat, grads, lr=None, wd=None, *, chain=False):
    """`flat` after one optimizer step per gradient (lr, wd [M, 1]: LR and WD by default);
    `chain`: through the step-by-step chain (a zero update noise routes around the fused
    kernel and adds nothing)."""
    flat, state = flat.clone(), init_optim_state(flat, spec)
    lr = torch.tensor(LR)[:, None] if lr is None else lr
    wd = torch.tensor(WD)[:, None] if wd is None else wd
    noise = torch.zeros_like(flat) if chain else None
    for g in grads:
        optimizer_step(
            flat, g, state, spec=spec, lr=lr, weight_decay=wd, target=None, update_noise=noise
        )
    return flat


def run_torch(make_opt, flat, grads):
    rows = []
    for m in range(flat.shape[0]):
        p = torch.nn.Parameter(flat[m].clone())
        opt = make_opt([p], LR[m], WD[m])
        for g in grads:
            p.grad = g[m].clone()
            opt.step()
        rows.append(p.detach())
    return torch.stack(rows)


@pytest.mark.parametrize(
    ("name", "make_opt"),
    [
        (
            "adamw",
            lambda ps, lr, wd: torch.optim.AdamW(ps, lr=lr, betas=(0.9, 0.98), weight_decay=wd),
        ),
        ("adam", lambda ps, lr, wd: torch.optim.Adam(ps, lr=lr, betas=(0.9, 0.98))),
        (
            "adam_l2",
            lambda ps, lr, wd: torch.optim.Adam(ps, lr=lr, betas=(0.9, 0.98), weight_decay=wd),
        ),
        ("sgd", lambda ps, lr, wd: torch.optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=wd)),
    ],
)
def test_population_optimizer_equals_torch_optimizer_for_each_member(name, make_opt):
    gen = torch.Generator().manual_seed(0)
    flat = torch.randn(3, 50, generator=gen)
    grads = [torch.randn(3, 50, generator=gen) for _ in range(6)]
    spec = OptimSpec(optimizer=name, momentum=0.9 if name == "sgd" else 0.0)
    torch.testing.assert_close(run_ours(spec, flat, grads), run_torch(make_opt, flat, grads))


def adam_steps(name, flat, grads, lr, wd, *, chain=False):
    return run_ours(OptimSpec(optimizer=name), flat, grads, lr, wd, chain=chain)


def random_problem(m: int, p: int, steps: int = 6):
    gen = torch.Generator().manual_seed(2)
    flat = torch.randn(m, p, generator=gen)
    return flat, [torch.randn(m, p, generator=gen) * 1e-2 for _ in range(steps)]


@pytest.mark.parametrize("name", ["adamw", "adam", "adam_l2"])
@pytest.mark.parametrize("same", [True, False])
def test_fused_adam_equals_the_chain(name, same):
    flat, grads = random_problem(3, 1001)
    lr = torch.full((3, 1), 3e-3) if same else torch.tensor(LR)[:, None]
    wd = torch.full((3, 1), 0.5) if same else torch.tensor(WD)[:, None]
    fused = adam_steps(name, flat, grads, lr, wd)
    chain = adam_steps(name, flat, grads, lr, wd, chain=True)
    assert not torch.equal(fused, chain)  # two implementations: round-off apart, not the same
    torch.testing.assert_close(fused, chain, rtol=1e-6, atol=1e-7)


def test_fused_adam_gives_a_member_the_same_bits_alone_in_a_population_and_at_any_threads():
    flat, grads = random_problem(4, 50_001)
    lr, wd = torch.full((4, 1), 1e-3), torch.full((4, 1), 1.0)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one_thread = adam_steps("adamw", flat, grads, lr, wd)
        torch.set_num_threads(2)
        population = adam_steps("adamw", flat, grads, lr, wd)
    finally:
        torch.set_num_threads(before)
    alone = adam_steps("adamw", flat[2:3], [g[2:3] for g in grads], lr[:1], wd[:1])
    assert torch.equal(one_thread, population) and torch.equal(population[2:3], alone)


def test_decay_toward_init_pulls_toward_the_init_not_the_origin():
    init = torch.randn(2, 100, generator=torch.Generator().manual_seed(1)) * 3
    flat = init + 1.0
    spec = OptimSpec(decay_to="init")
    state = init_optim_state(flat, spec)
    for _ in range(200):
        optimizer_step(
            flat,
            torch.zeros_like(flat),
            state,
            spec=spec,
            lr=torch.full((2, 1), 1e-2),
            weight_decay=torch.full((2, 1), 1.0),
            target=init,
        )
    assert (flat - init).norm() < 0.2 * (1.0 * 100**0.5 * 2**0.5)  # most of the offset is gone
    torch.testing.assert_close(flat.norm(dim=1), init.norm(dim=1), rtol=0.02, atol=0)


def test_decay_toward_origin_shrinks_the_norm():
    flat = torch.randn(2, 100, generator=torch.Generator().manual_seed(1)) * 3
    norm0 = flat.norm(dim=1)
    spec = OptimSpec()
    state = init_optim_state(flat, spec)
    for _ in range(200):
        optimizer_step(
            flat,
            torch.zeros_like(flat),
            state,
            spec=spec,
            lr=torch.full((2, 1), 1e-2),
            weight_decay=torch.tensor([[0.0], [1.0]]),
            target=None,
        )
    norm = flat.norm(dim=1)
    torch.testing.assert_close(norm[0], norm0[0])  # member 0 has no decay and zero gradient
    assert norm[1] < 0.2 * norm0[1]


def test_warmup_is_linear_from_zero_then_constant_or_cosine():
    spec = OptimSpec(warmup_steps=10)
    assert [lr_factor(s, spec, 100) for s in (0, 4, 9, 10, 99)] == [0.1, 0.5, 1.0, 1.0, 1.0]
    cosine = OptimSpec(warmup_steps=10, schedule="cosine")
    assert lr_factor(10, cosine, 110) == 1.0
    assert lr_factor(60, cosine, 110) == pytest.approx(0.5)
    assert lr_factor(110, cosine, 110) == pytest.approx(0.0)
    assert lr_factor(0, OptimSpec(warmup_steps=0), 10) == 1.0


def test_step_schedule_multiplies_the_lr_by_the_factor_every_n_updates_like_steplr():
    spec = OptimSpec(warmup_steps=0, schedule="step", step_every=5000, step_factor=0.2)
    got = [lr_factor(s, spec, 20_000) for s in (0, 4999, 5000, 9999, 10_000, 15_000)]
    assert got == pytest.approx([1.0, 1.0, 0.2, 0.2, 0.04, 0.008], rel=1e-12)
    p = torch.nn.Parameter(torch.zeros(1))
    sched = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([p], lr=1.0), step_size=3, gamma=0.5)
    small = OptimSpec(warmup_steps=0, schedule="step", step_every=3, step_factor=0.5)
    for step in range(10):
        assert lr_factor(step, small, 10) == pytest.approx(sched.get_last_lr()[0]), step
        sched.optimizer.step()
        sched.step()
    warm = OptimSpec(warmup_steps=2, schedule="step", step_every=3, step_factor=0.5)
    assert [lr_factor(s, warm, 10) for s in range(7)] == [0.5, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_bad_schedule_settings_are_one_line_errors():
    with pytest.raises(SpecError, match="schedule='linear' is not allowed; choose one of .*step"):
        OptimSpec(schedule="linear")
    with pytest.raises(SpecError, match="step_every=0 is out of range"):
        OptimSpec(step_every=0)
    with pytest.raises(SpecError, match=r"step_factor=1.5 is out of range; allowed: \(0.0, 1.0\]"):
        OptimSpec(step_factor=1.5)


def test_step_schedule_fields_at_their_defaults_keep_run_ids():
    assert RunSpec(optim=OptimSpec(step_every=5000, step_factor=0.2)).run_id == RunSpec().run_id
    assert RunSpec(optim=OptimSpec(schedule="step")).run_id != RunSpec().run_id


def test_every_schedule_the_spec_allows_has_its_factor_and_an_unknown_one_is_refused():
    """SCHEDULE_FACTORS and spec.SCHEDULES name the same schedules (a schedule declared without
    its factor would otherwise train at some other lr), and lr_factor refuses a name it lacks."""
    from types import SimpleNamespace

    from groklab.spec import SCHEDULES
    from groklab.train.optim import SCHEDULE_FACTORS, lr_factor

    assert list(SCHEDULE_FACTORS) == list(SCHEDULES)
    unknown = SimpleNamespace(warmup_steps=0, schedule="linear")  # as a plug-in without code
    with pytest.raises(ValueError, match="schedule 'linear' has no factor; known: constant"):
        lr_factor(3, unknown, 100)


def test_every_optimizer_the_spec_allows_has_one_entry_and_its_state_is_what_it_declares():
    """OPTIMIZER_ENTRIES and spec.OPTIMIZERS name the same optimizers; each entry's state keeps
    at most `state_copies` [M, P] tensors (what the memory estimate counts)."""
    from groklab.spec import OPTIMIZERS
    from groklab.train.optim import OPTIMIZER_ENTRIES

    assert list(OPTIMIZER_ENTRIES) == list(OPTIMIZERS)
    for name, entry in OPTIMIZER_ENTRIES.items():
        spec = RunSpec(
            data=DataSpec(op="add", p=7),
            model=ModelSpec(arch="mlp", n_layers=2, d_model=16, d_mlp=32),
            optim=OptimSpec(optimizer=name),
            members=members_from(seed=[0, 1]),
        )
        task = make_task(spec, torch.device("cpu"))
        state = init_state(spec, task, torch.device("cpu"))
        flat = state.population.flat
        tensors = [v for k, v in state.opt.items() if k != "step"]
        assert sum(t.numel() for t in tensors) <= entry.state_copies * flat.numel(), name
        assert all(t.shape[0] == flat.shape[0] for t in tensors), name  # per member
