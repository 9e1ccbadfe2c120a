"""Tests for examples/: each script runs at its tiny size and produces what it says."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from groklab.store import RunStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def arena():
    return load_example("arena_walkthrough")


@pytest.fixture(scope="module")
def walked(arena, tmp_path_factory):
    """The walkthrough run once at its tiny size: (its numbers, store directory)."""
    root = tmp_path_factory.mktemp("arena")
    store = root / "store"
    return arena.main(["--tiny", "--store", str(store), "--out", str(root / "out")]), store


def test_arena_walkthrough_population_memorizes_its_training_splits(walked):
    numbers, _ = walked
    assert numbers["final_train_acc"].shape == (4,)
    assert (numbers["final_train_acc"] >= 0.99).all()


def test_arena_walkthrough_loaded_member_reproduces_the_stored_val_acc(walked):
    numbers, store = walked
    curves = RunStore(store).read_curves(numbers["run_id"])
    at = int(np.flatnonzero(curves["step"] == numbers["step"])[0])
    stored = curves["val_acc"][numbers["member"], at]
    assert numbers["loaded_val_acc"] == pytest.approx(stored, abs=1e-6)
    assert numbers["member"] == int(np.argmax(numbers["final_val_acc"]))


def test_arena_walkthrough_saves_its_figure_and_one_share_per_member(walked):
    numbers, _ = walked
    assert numbers["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(numbers["top_share"]) == 4
    assert all(0 < share <= 1 for share in numbers["top_share"])
    assert numbers["fourier_norms"].shape == ((17 - 1) // 2,)


def test_fourier_norms_equal_a_plain_per_frequency_sum(arena):
    p, d = 13, 5
    W_E = torch.randn(p + 2, d, generator=torch.Generator().manual_seed(0))  # + op and '='
    x = np.arange(p)
    expected = []
    for k in range(1, (p - 1) // 2 + 1):
        total = 0.0
        for j in (k, p - k):
            wave = np.exp(-2j * math.pi * j * x / p)  # [p]
            total += sum(abs(np.dot(wave, W_E[:p, c].double().numpy())) ** 2 for c in range(d))
        expected.append(math.sqrt(total))
    np.testing.assert_allclose(arena.fourier_norms(W_E, p), expected, rtol=1e-10)


def test_an_embedding_of_one_frequency_puts_all_its_energy_there(arena):
    p = 11
    x = torch.arange(p, dtype=torch.float64)
    W_E = torch.stack([torch.cos(2 * math.pi * 3 * x / p), torch.sin(2 * math.pi * 3 * x / p)], 1)
    norms = arena.fourier_norms(W_E, p)
    assert int(np.argmax(norms)) + 1 == 3
    assert arena.top_share(norms, n=1) == pytest.approx(1.0)
