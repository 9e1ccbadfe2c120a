import itertools

import numpy as np
import pytest
import torch

from groklab.loader import MemberTask
from groklab.measures import MEASURES
from groklab.measures.rqi import ideal_parallelograms, rqi, toy_representation
from groklab.spec import DataSpec, RunSpec


def plain_rqi(embedding: np.ndarray, tolerance: float = 0.01) -> float:
    """The authors' definition written with loops: pairs (a, b), a <= b; two different pairs
    with the same sum are a parallelogram; standardize each coordinate, then count."""
    p = embedding.shape[0]
    e = (embedding - embedding.mean(0)) / embedding.std(0, ddof=1)
    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    hits = total = 0
    for (a, b), (c, d) in itertools.combinations(pairs, 2):
        if a + b != c + d:
            continue
        total += 1
        hits += float(np.mean((e[a] + e[b] - e[c] - e[d]) ** 2)) < tolerance
    return hits / total


def test_ideal_parallelograms_are_all_pairs_of_pairs_with_equal_sums():
    p = 10
    quads = ideal_parallelograms(p)
    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    plain = {frozenset([x, y]) for x, y in itertools.combinations(pairs, 2) if sum(x) == sum(y)}
    got = {frozenset([(int(i), int(n)), (int(j), int(m))]) for i, n, j, m in quads}
    assert got == plain and len(quads) == len(plain)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_a_linear_representation_has_rqi_one(d):
    slope = torch.linspace(0.5, 2.0, d)
    embedding = torch.arange(10.0)[:, None] * slope + torch.randn(d)  # [10, d]
    assert rqi(embedding).item() == 1.0


def test_rqi_of_random_and_noisy_representations_equals_the_plain_count():
    gen = torch.Generator().manual_seed(0)
    line = torch.arange(10.0)[:, None].repeat(1, 2)
    for scale in (0.0, 0.02, 0.1, 1.0, 100.0):  # from a perfect line to random points
        embedding = line + scale * torch.randn(10, 2, generator=gen)
        assert rqi(embedding).item() == pytest.approx(plain_rqi(embedding.numpy()), abs=1e-12)
    random = torch.rand(10, 2, generator=gen)
    assert rqi(random).item() < 0.2


def test_rqi_is_per_leading_index_and_scale_free():
    gen = torch.Generator().manual_seed(1)
    batch = torch.randn(3, 8, 2, generator=gen) + torch.arange(8.0)[:, None] * 2
    got = rqi(batch)
    assert got.shape == (3,)
    for k in range(3):
        assert got[k].item() == rqi(batch[k]).item() == rqi(7.0 * batch[k] - 3.0).item()


def test_a_constant_coordinate_counts_nothing():
    embedding = torch.stack([torch.arange(6.0), torch.ones(6)], dim=1)
    assert rqi(embedding).item() == 0.0


def toy_task(messiness: float) -> MemberTask:
    spec = RunSpec(data=DataSpec(dataset="toy_add", p=10, messiness=messiness))
    empty = torch.zeros(0)
    return MemberTask("r-0", 0, 0, spec, empty, empty, empty.bool(), empty.bool(), None)


def test_rqi_measure_reads_the_toy_representation_and_falls_with_messiness():
    info = MEASURES["rqi"]
    assert info.cheap and info.applies(toy_task(0.0).spec)
    assert not info.applies(RunSpec())
    values = [info.fn(None, toy_task(m))["rqi"] for m in (0.0, 1.0)]
    expected = [plain_rqi(toy_representation(toy_task(m).spec).numpy()) for m in (0.0, 1.0)]
    assert values == pytest.approx(expected, abs=1e-12)
    assert values[0] > values[1]


def test_toy_line_is_perfect_alone_and_its_noise_coordinate_breaks_the_2d_rqi():
    embedding = toy_representation(toy_task(0.0).spec)  # [10, 2]
    assert rqi(embedding[:, :1]).item() == 1.0
    assert rqi(embedding).item() == pytest.approx(plain_rqi(embedding.numpy()))
    assert rqi(embedding).item() < 0.2
