"""measures/groups.py and the multiplicative Fourier view (issue 25 item 3): the discrete-log
order turns x * y and x / y into addition and subtraction of indices, and an embedding planted
with one character of Z_p^* has all its norm at that frequency in the multiplicative basis
while Z_p's additive basis smears it."""

import math

import pytest
import torch

from groklab.measures import MEASURES
from groklab.measures.groups import group_of, is_prime, log_order, primitive_root
from groklab.spec import DataSpec, RunSpec

from .test_fourier import tiny_member


def brute_force_root(p: int) -> int:
    return next(g for g in range(1, p) if len({pow(g, j, p) for j in range(p - 1)}) == p - 1)


@pytest.mark.parametrize("p", [2, 3, 5, 7, 11, 13, 17, 23, 97, 113])
def test_the_primitive_root_is_the_smallest_generator_and_logs_turn_products_into_sums(p):
    assert primitive_root(p) == brute_force_root(p)
    order = log_order(p)
    assert sorted(order) == list(range(1, p))
    n = p - 1
    for i in range(n):
        for j in range(n):
            assert order[(i + j) % n] == order[i] * order[j] % p  # x * y
            assert order[(i - j) % n] == order[i] * pow(order[j], p - 2, p) % p  # x / y


def test_a_composite_modulus_has_no_multiplicative_basis():
    assert not is_prime(8) and is_prime(7)
    with pytest.raises(ValueError, match="p=8 is not prime"):
        primitive_root(8)
    assert group_of("mul", 8).name == "additive"  # Z_8^* is not cyclic of order 7: Z_8 it is
    assert group_of("add", 7).values == list(range(7))
    div = group_of("div", 7)
    assert (div.name, div.values) == ("multiplicative", [1, 3, 2, 6, 4, 5])
    assert "discrete log base 3" in div.text


def test_each_basis_applies_to_the_operations_of_its_group():
    add, mul = RunSpec(data=DataSpec(op="add", p=7)), RunSpec(data=DataSpec(op="mul", p=7))
    assert MEASURES["fourier_embed"].applies(add) and not MEASURES["fourier_embed"].applies(mul)
    assert MEASURES["fourier_embed_mul"].applies(mul)
    assert not MEASURES["fourier_embed_mul"].applies(add)
    assert not MEASURES["key_frequencies"].applies(mul)  # additive neurons: not for x * y


def test_a_planted_character_of_the_multiplicative_group_is_one_frequency_there():
    p, k = 13, 4
    model, task = tiny_member(op="mul", p=p)
    order = log_order(p)
    with torch.no_grad():
        model.W_E.zero_()
        for j, x in enumerate(order):  # W_E[g^j] = (cos, sin)(2 pi k j / (p - 1)) in two columns
            model.W_E[x, 0] = math.cos(2 * math.pi * k * j / (p - 1))
            model.W_E[x, 1] = math.sin(2 * math.pi * k * j / (p - 1))
    mul = MEASURES["fourier_embed_mul"].fn(model, task)
    norms = torch.tensor([mul[f"fourier_mul/embed/{f}"] for f in range((p - 1) // 2 + 1)])
    total = model.W_E.detach()[1:p].double().norm()
    assert norms[k].item() == pytest.approx(total.item(), rel=1e-6)
    assert torch.cat([norms[:k], norms[k + 1 :]]).abs().max() < 1e-6
    assert mul["gini_mul/W_E"] == pytest.approx(1 - 1 / ((p - 1) // 2), rel=1e-6)  # one of 6
    additive = MEASURES["fourier_embed"].fn(model, task)  # the basis the report used to draw
    spread = sorted((v for n, v in additive.items() if not n.endswith("/0")), reverse=True)
    assert spread[0] ** 2 < 0.8 * sum(v**2 for v in spread)  # no single additive frequency
