import math

import pytest
import torch
from torch import nn

from groklab.errors import SpecError
from groklab.loader import MemberTask
from groklab.measures import MEASURES
from groklab.measures.chains import DRIFT_LIMIT, RHAT_LIMIT, relative_drift, split_rhat
from groklab.measures.llc import SGLDSpec, default_n_beta, member_llc, sgld_llc
from groklab.spec import RunSpec, TrainSpec

SPEC = SGLDSpec(epsilon=1e-3, gamma=1.0, chains=4, draws=1000, burn_in=200)


def quadratic(h: torch.Tensor, w_star: torch.Tensor, base: torch.Tensor):
    """L(w) = base + 1/2 sum_k h_k (w_k - w*_k)^2 for each member: h, w_star [M, P], base [M]."""
    return lambda w: base + 0.5 * (h * (w - w_star).pow(2)).sum(-1)


def generators(seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def discretized_expectation(h: torch.Tensor, n_beta: float, spec: SGLDSpec) -> torch.Tensor:
    """n beta * E[L - L*] for SGLD on a quadratic, from the stationary variance of each
    coordinate's linear recursion x <- (1 - eps a / 2) x + sqrt(eps) xi, a = n beta h + gamma."""
    a = n_beta * h + spec.gamma
    var = spec.epsilon / (1 - (1 - spec.epsilon * a / 2) ** 2)
    return n_beta * 0.5 * (h * var).sum(-1)


@pytest.mark.parametrize("d", [2, 6])
def test_regular_quadratic_in_d_dimensions_gives_d_over_2(d):
    gen = torch.Generator().manual_seed(d)
    h = torch.rand(1, d, generator=gen, dtype=torch.float64) * 1.5 + 0.5  # curvatures 0.5..2
    w_star = torch.randn(1, d, generator=gen, dtype=torch.float64)
    loss = quadratic(h, w_star, torch.tensor([0.3], dtype=torch.float64))
    result = sgld_llc(loss, w_star, n=1000, spec=SPEC, generators=generators([7]))
    assert result.n_beta == pytest.approx(1000 / math.log(1000))
    assert result.loss_at_optimum.item() == pytest.approx(0.3)
    assert result.llc.item() == pytest.approx(d / 2, rel=0.1)
    expected = discretized_expectation(h, result.n_beta, SPEC).item()
    assert result.llc.item() == pytest.approx(expected, rel=0.08)
    assert result.losses.shape == (SPEC.draws, SPEC.chains, 1)


def test_a_degenerate_direction_lowers_the_estimate():
    # L = w_1^2 / 2 + w_2^4: the quartic direction contributes 1/4, not 1/2 (lambda = 3/4)
    w_star = torch.zeros(1, 2, dtype=torch.float64)

    def loss(w):
        return 0.5 * w[..., 0] ** 2 + w[..., 1] ** 4

    spec = SGLDSpec(epsilon=1e-3, gamma=1e-3, chains=4, draws=1500, burn_in=300, n_beta=200.0)
    result = sgld_llc(loss, w_star, n=1000, spec=spec, generators=generators([3]))
    assert result.llc.item() == pytest.approx(0.75, rel=0.15)


def test_members_of_a_population_equal_each_member_alone():
    gen = torch.Generator().manual_seed(0)
    h = torch.rand(3, 4, generator=gen, dtype=torch.float64) + 0.5
    w_star = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    base = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    spec = SGLDSpec(epsilon=1e-3, gamma=1.0, chains=2, draws=30, burn_in=10)
    together = sgld_llc(quadratic(h, w_star, base), w_star, n=500, spec=spec,
                        generators=generators([10, 11, 12]))  # fmt: skip
    for k in range(3):
        sl = slice(k, k + 1)
        alone = sgld_llc(quadratic(h[sl], w_star[sl], base[sl]), w_star[sl], n=500, spec=spec,
                         generators=generators([10 + k]))  # fmt: skip
        # allclose, not assert_close: the same numbers, without assert_close's slow first import
        assert torch.allclose(together.losses[:, :, k], alone.losses[:, :, 0], rtol=1e-12)
        assert torch.allclose(together.llc[k], alone.llc[0], rtol=1e-12)


def test_bad_sampler_settings_name_the_value():
    with pytest.raises(SpecError, match="epsilon=0"):
        SGLDSpec(epsilon=0.0)
    with pytest.raises(SpecError, match="chains=0"):
        SGLDSpec(chains=0)
    with pytest.raises(ValueError, match="n=1"):
        default_n_beta(1)


def test_member_llc_of_a_least_squares_linear_model_is_half_its_parameters():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 3, generator=gen)
    targets = x @ torch.randn(3, 2, generator=gen) + 0.1 * torch.randn(400, 2, generator=gen)
    model = nn.Linear(3, 2, bias=False)
    with torch.no_grad():  # the least-squares optimum w*
        model.weight.copy_(torch.linalg.lstsq(x, targets).solution.T)
    spec = RunSpec(train=TrainSpec(loss="mse"))
    mask = torch.ones(400, dtype=torch.bool)
    task = MemberTask("r-0", 0, 0, spec, x, targets, mask, ~mask, None)
    sampler = SGLDSpec(epsilon=2e-3, gamma=1.0, chains=2, draws=500, burn_in=100)
    result = member_llc(model, task, sampler)
    assert result.llc.item() == pytest.approx(6 / 2, rel=0.15)
    assert member_llc(model, task, sampler).llc.item() == result.llc.item()  # seeded


def test_llc_is_registered_as_not_cheap():
    info = MEASURES["llc"]
    assert not info.cheap and info.applies(RunSpec())


def test_registered_llc_is_member_llc_at_the_default_sampler():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(50, 2, generator=gen)
    targets = x @ torch.tensor([[1.0], [-2.0]])
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
    spec = RunSpec(train=TrainSpec(loss="mse"))
    mask = torch.ones(50, dtype=torch.bool)
    task = MemberTask("r-0", 0, 0, spec, x, targets, mask, ~mask, None)
    got = MEASURES["llc"].fn(model, task)
    direct = member_llc(model, task)  # SGLDSpec() defaults, the member's own noise stream
    sampler = SGLDSpec()
    assert (
        got
        == {
            "llc": float(direct.llc[0]),
            "llc_std": float(direct.llc_per_chain[:, 0].std()),
            "llc_rhat": float(split_rhat(direct.traces)[0]),
            "llc_drift": float(relative_drift(direct.traces)[0]),
            "llc_epsilon": sampler.epsilon,
            "llc_gamma": sampler.gamma,
            "llc_n_beta": 50 / math.log(50),
            "llc_chains": sampler.chains,
            "llc_draws": sampler.draws,
            "llc_burn_in": sampler.burn_in,
            **{  # each chain's trace in 10 block means of 20 draws (the default 200 draws)
                f"llc_trace/{c}/{b}": float(
                    direct.traces[20 * b : 20 * (b + 1), c, 0].double().mean()
                )
                for c in range(sampler.chains)
                for b in range(10)
            },
        }
    )
    traces = [v for k, v in got.items() if k.startswith("llc_trace/")]
    assert len(traces) == 10 * sampler.chains
    assert math.isclose(sum(traces) / len(traces), got["llc"], rel_tol=1e-6)  # equal blocks
    assert direct.llc_per_chain.shape == (SGLDSpec().chains, 1)


def test_traces_are_each_draws_estimate_and_average_to_the_llc():
    gen = torch.Generator().manual_seed(2)
    h = torch.rand(2, 3, generator=gen, dtype=torch.float64) + 0.5
    w_star = torch.randn(2, 3, generator=gen, dtype=torch.float64)
    spec = SGLDSpec(epsilon=1e-3, gamma=1.0, chains=3, draws=40, burn_in=10)
    loss = quadratic(h, w_star, torch.tensor([0.5, 1.0], dtype=torch.float64))
    result = sgld_llc(loss, w_star, n=300, spec=spec, generators=generators([4, 5]))
    expected = result.n_beta * (result.losses - torch.tensor([0.5, 1.0], dtype=torch.float64))
    assert torch.allclose(result.traces, expected)
    assert torch.allclose(result.traces.mean((0, 1)), result.llc)
    assert torch.equal(result.rhat, split_rhat(result.traces))
    assert torch.equal(result.drift, relative_drift(result.traces))


def test_diagnostics_pass_settled_chains_and_flag_chains_still_leaving_w_star():
    # a quadratic in 200 dimensions: the estimate is d/2 = 100 at every draw, give or take 7 %
    d = 200
    h, w_star = torch.ones(1, d, dtype=torch.float64), torch.zeros(1, d, dtype=torch.float64)
    loss = quadratic(h, w_star, torch.zeros(1, dtype=torch.float64))
    settled = SGLDSpec(epsilon=1e-3, gamma=1.0, chains=4, draws=400, burn_in=100)
    result = sgld_llc(loss, w_star, n=1000, spec=settled, generators=generators([1]))
    assert result.rhat.item() < RHAT_LIMIT and abs(result.drift.item()) < DRIFT_LIMIT
    assert result.llc.item() == pytest.approx(d / 2, rel=0.1)
    # a step size 1000 times smaller: after 100 steps the chains are still spreading out
    unsettled = SGLDSpec(epsilon=1e-6, gamma=1.0, chains=4, draws=100, burn_in=0)
    result = sgld_llc(loss, w_star, n=1000, spec=unsettled, generators=generators([1]))
    assert result.drift.item() > 0.5 and result.rhat.item() > RHAT_LIMIT
