import contextlib
import io

import numpy as np
import pytest
import torch

from groklab.measures import MEASURES
from groklab.measures.htsr import correlation_traps, power_law_fit
from groklab.models.build import build_model
from groklab.spec import ModelSpec


def plain_alpha(evals: np.ndarray) -> float:
    """weightwatcher's fit written as a loop over xmin (N >= 20): the MLE exponent of each
    tail and its KS distance; the least distance wins."""
    x = np.sort(evals[evals > 1e-5])
    best_d, best_alpha = np.inf, np.nan
    for i in range(len(x) - 1):
        tail = x[i:]
        n = len(tail)
        alpha = 1 + n / np.log(tail / x[i]).sum()
        d = np.abs(1 - (tail / x[i]) ** (1 - alpha) - np.arange(n) / n).max()
        if alpha > 1 and d < best_d:
            best_d, best_alpha = d, alpha
    return float(best_alpha)


def with_eigenvalues(evals: np.ndarray, n_rows: int, seed: int = 0) -> torch.Tensor:
    """A random [n_rows, len(evals)] matrix W whose W^T W has eigenvalues `evals`."""
    g = torch.Generator().manual_seed(seed)
    m = len(evals)
    u, _ = torch.linalg.qr(torch.randn(n_rows, m, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    return u @ torch.diag(torch.as_tensor(np.sqrt(evals))) @ v.T


def mlp(d_out: int = 11):
    spec = ModelSpec(arch="mlp", n_layers=2, d_model=16, d_mlp=40)
    return build_model(spec, d_vocab=13, n_ctx=4, d_out=d_out, generator=torch.Generator())


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_planted_power_law_spectrum_gives_its_exponent(alpha):
    u = (np.arange(300) + 0.5) / 300  # eigenvalues at the quantiles of a Pareto law
    evals = (1 - u) ** (-1 / (alpha - 1))  # density ~ lambda^-alpha above 1
    w = with_eigenvalues(evals, 500)
    fitted = power_law_fit(torch.linalg.svdvals(w).pow(2).numpy())
    assert fitted.alpha == pytest.approx(alpha, abs=0.15)


def test_random_gaussian_matrix_has_a_steep_tail_not_a_heavy_one():
    w = torch.randn(400, 200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert power_law_fit(torch.linalg.svdvals(w).pow(2).numpy()).alpha > 4


def test_fit_equals_a_plain_loop_over_xmin():
    rng = np.random.default_rng(0)
    for trial in range(20):
        w = rng.standard_normal((120, 40)) * rng.standard_t(2 + trial % 3, (120, 40))
        evals = np.linalg.svd(w, compute_uv=False) ** 2
        assert power_law_fit(evals).alpha == pytest.approx(plain_alpha(evals), rel=1e-9)


def test_too_few_distinct_eigenvalues_give_nan():
    assert np.isnan(power_law_fit(np.ones(12)).alpha)  # all equal: no tail to fit
    assert np.isnan(power_law_fit(np.array([1.0, 0.0])).alpha)


def test_alpha_measure_fits_each_matrix_with_at_least_8_eigenvalues():
    model = mlp(d_out=5)  # the last layer [5, 40] has 5 eigenvalues: skipped
    got = MEASURES["htsr_alpha"].fn(model, None)
    assert set(got) == {
        "htsr_alpha/W_E",
        "htsr_alpha/layers.0.weight",
        "htsr_alpha/layers.1.weight",
    }
    for name, param in model.named_parameters():
        if f"htsr_alpha/{name}" in got:
            evals = np.linalg.svd(param.detach().double().numpy(), compute_uv=False) ** 2
            assert got[f"htsr_alpha/{name}"] == pytest.approx(power_law_fit(evals).alpha)


def test_shuffled_gaussian_matrix_has_no_correlation_traps():
    for seed in range(10):
        w = torch.randn(200, 64, generator=torch.Generator().manual_seed(seed))
        assert correlation_traps(w, torch.Generator().manual_seed(seed)) == 0


def test_outsized_entries_make_one_trap_each():
    w = torch.randn(256, 128, generator=torch.Generator().manual_seed(0))
    w[torch.arange(3), torch.arange(3)] = 40.0  # three entries far outside the bulk
    assert correlation_traps(w, torch.Generator().manual_seed(1)) == 3


def test_traps_measure_is_the_same_at_every_call_from_the_members_seed():
    from types import SimpleNamespace

    from groklab.spec import RunSpec

    spec = RunSpec()
    task = SimpleNamespace(spec=spec, member=0)
    model = mlp()
    first = MEASURES["correlation_traps"].fn(model, task)
    assert first == MEASURES["correlation_traps"].fn(model, task)
    names = ("W_E", "layers.0.weight", "layers.1.weight", "layers.2.weight")
    assert set(first) == {f"correlation_traps/{n}" for n in names}


def test_alpha_agrees_with_weightwatcher_where_it_is_installed():
    ww = pytest.importorskip("weightwatcher")
    from weightwatcher.WW_powerlaw import pl_fit

    rng = np.random.default_rng(1)
    quiet = io.StringIO()  # weightwatcher prints while it fits small matrices
    for trial in range(40):
        m = int(rng.integers(8, 120))  # small-sample fits (< 20 eigenvalues) included
        w = rng.standard_normal((m + 50, m)) * rng.standard_t(2 + trial % 4, (m + 50, m))
        evals = np.linalg.svd(w, compute_uv=False) ** 2
        with contextlib.redirect_stdout(quiet):
            expected = pl_fit(data=evals[evals > 1e-5], xmax=None).alpha
        assert power_law_fit(evals).alpha == pytest.approx(expected, rel=1e-9)
    model = mlp()
    layers = torch.nn.Sequential(
        *[torch.nn.Linear(p.shape[1], p.shape[0]) for p in model.layers.parameters()]
    )
    with torch.no_grad():
        for linear, param in zip(layers, model.layers.parameters(), strict=True):
            linear.weight.copy_(param)
    with contextlib.redirect_stdout(quiet):
        table = ww.WeightWatcher(model=layers).analyze()
    ours = MEASURES["htsr_alpha"].fn(model, None)
    expected = [ours[f"htsr_alpha/layers.{i}.weight"] for i in range(3)]
    np.testing.assert_allclose(table["alpha"].to_numpy(), expected, rtol=1e-9)
