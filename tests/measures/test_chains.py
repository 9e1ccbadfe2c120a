import numpy as np
import pytest
import torch

from groklab.measures.chains import relative_drift, split_rhat, unsettled


def numpy_split_rhat(traces: np.ndarray) -> np.ndarray:
    """Gelman et al. (BDA3, sec. 11.4) split-R-hat of [draws, C] for each member, written out."""
    out = []
    for member in range(traces.shape[2]):
        x = traces[:, :, member]
        n = x.shape[0] // 2
        chains = [x[:n, c] for c in range(x.shape[1])] + [x[-n:, c] for c in range(x.shape[1])]
        means = np.array([c.mean() for c in chains])
        b = n * np.var(means, ddof=1)
        w = np.mean([np.var(c, ddof=1) for c in chains])
        out.append(np.sqrt(((n - 1) / n * w + b / n) / w))
    return np.array(out)


def numpy_drift(traces: np.ndarray) -> np.ndarray:
    n = traces.shape[0] // 2
    first, second = traces[:n].mean((0, 1)), traces[-n:].mean((0, 1))
    return (second - first) / np.abs(traces.mean((0, 1)))


def stationary(draws=500, chains=4, members=2, seed=0) -> np.ndarray:
    """Independent AR(1) chains around 10, started from their stationary distribution."""
    rng = np.random.default_rng(seed)
    x = np.empty((draws, chains, members))
    x[0] = rng.normal(size=(chains, members)) / np.sqrt(1 - 0.5**2)
    for t in range(1, draws):
        x[t] = 0.5 * x[t - 1] + rng.normal(size=(chains, members))
    return 10.0 + x


@pytest.mark.parametrize("draws", [500, 501])  # an odd middle draw is dropped
def test_split_rhat_and_drift_equal_a_plain_numpy_implementation(draws):
    traces = stationary(draws) + np.array([0.0, 3.0, 0.0, 0.0])[None, :, None]
    traces[:, :, 1] += np.linspace(0, 2, draws)[:, None]  # member 1 trends
    got_rhat = split_rhat(torch.from_numpy(traces)).numpy()
    got_drift = relative_drift(torch.from_numpy(traces)).numpy()
    np.testing.assert_allclose(got_rhat, numpy_split_rhat(traces), rtol=1e-12)
    np.testing.assert_allclose(got_drift, numpy_drift(traces), rtol=1e-12)


def test_stationary_chains_give_rhat_near_1_and_no_drift():
    traces = torch.from_numpy(stationary(2000))
    assert torch.all((split_rhat(traces) - 1).abs() < 0.01)
    assert torch.all(relative_drift(traces).abs() < 0.01)


def test_chains_at_different_means_give_rhat_far_above_1():
    traces = stationary() + np.array([0.0, 0.0, 5.0, 5.0])[None, :, None]
    assert torch.all(split_rhat(torch.from_numpy(traces)) > 2)


def test_a_trending_chain_drifts_and_its_halves_raise_rhat():
    traces = stationary(chains=1, members=1) + np.linspace(0, 4, 500)[:, None, None]
    drift = relative_drift(torch.from_numpy(traces)).item()
    assert drift == pytest.approx(2.0 / 12.0, rel=0.05)  # halves at 11 and 13, mean 12
    assert split_rhat(torch.from_numpy(traces)).item() > 1.3  # even a single chain, split


def test_too_few_draws_give_nan():
    assert torch.isnan(split_rhat(torch.ones(3, 2, 1))).all()
    assert torch.isnan(relative_drift(torch.ones(1, 2, 1))).all()


def test_unsettled_flags_high_rhat_large_drift_and_diverged_estimates_only():
    rhat = np.array([[1.0, 1.2, 1.0, 1.0, np.nan, 1.05]])
    drift = np.array([[0.01, 0.0, -0.08, 0.0, np.nan, 0.049]])
    estimate = np.array([[5.0, 5.0, 5.0, np.inf, 5.0, 5.0]])
    flagged = unsettled(rhat, drift, estimate)
    assert flagged.tolist() == [[False, True, True, True, False, False]]
