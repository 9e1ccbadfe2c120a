"""groklab.data.s5 and the S5 ops: groklab's convention, group axioms, brute-force tables."""

from itertools import product

import numpy as np
import pytest

from groklab.data import make_table
from groklab.data.s5 import COMPOSE, INVERSE, PERMS

IDENTITY = (0, 1, 2, 3, 4)


def apply_y_then_x(x, y):
    return tuple(x[y[i]] for i in range(5))


def invert(x):
    inverse = [0] * 5
    for i, image in enumerate(x):
        inverse[image] = i
    return tuple(inverse)


def test_perms_are_the_120_permutations_in_lexicographic_order_identity_first():
    assert len(PERMS) == 120 and len(set(PERMS)) == 120
    assert all(sorted(perm) == list(range(5)) for perm in PERMS)
    assert list(PERMS) == sorted(PERMS)
    assert PERMS[0] == IDENTITY and PERMS[-1] == (4, 3, 2, 1, 0)


def test_compose_is_apply_y_then_x_for_all_pairs():
    for x, y in product(range(120), repeat=2):
        assert PERMS[COMPOSE[x, y]] == apply_y_then_x(PERMS[x], PERMS[y])


def test_compose_convention_on_two_transpositions():
    swap01, swap12 = PERMS.index((1, 0, 2, 3, 4)), PERMS.index((0, 2, 1, 3, 4))
    assert PERMS[COMPOSE[swap01, swap12]] == (1, 2, 0, 3, 4)
    assert PERMS[COMPOSE[swap12, swap01]] == (2, 0, 1, 3, 4)  # S5 is not commutative


def test_group_axioms_hold_on_all_elements_and_triples():
    e = np.arange(120)
    assert COMPOSE.shape == (120, 120) and COMPOSE.min() >= 0 and COMPOSE.max() < 120
    assert all(sorted(row) == list(range(120)) for row in COMPOSE.tolist())  # Latin square
    left = COMPOSE[COMPOSE[:, :, None], e[None, None, :]]  # (x y) z
    right = COMPOSE[e[:, None, None], COMPOSE[None, :, :]]  # x (y z)
    assert np.array_equal(left, right)
    assert np.array_equal(COMPOSE[0], e) and np.array_equal(COMPOSE[:, 0], e)
    assert np.array_equal(COMPOSE[e, INVERSE], np.zeros(120, dtype=np.int64))
    assert np.array_equal(COMPOSE[INVERSE, e], np.zeros(120, dtype=np.int64))
    assert all(PERMS[INVERSE[x]] == invert(PERMS[x]) for x in range(120))


def test_tables_are_read_only():
    with pytest.raises(ValueError):
        COMPOSE[0, 0] = 1


BRUTE = {
    "s5_mul": lambda x, y: apply_y_then_x(x, y),
    "s5_conj": lambda x, y: apply_y_then_x(apply_y_then_x(x, y), invert(x)),
    "s5_xyx": lambda x, y: apply_y_then_x(apply_y_then_x(x, y), x),
}


@pytest.mark.parametrize("op", sorted(BRUTE))
def test_s5_table_equals_composed_permutations(op):
    table = make_table(op, 97)
    perms = sorted(perm for perm in product(range(5), repeat=5) if len(set(perm)) == 5)
    index = {perm: i for i, perm in enumerate(perms)}
    expected = [
        (x, y, index[BRUTE[op](perms[x], perms[y])]) for x in range(120) for y in range(120)
    ]
    rows = zip(table.x.tolist(), table.y.tolist(), table.targets.tolist(), strict=True)
    assert list(rows) == expected


def test_conjugation_by_identity_and_of_identity_is_trivial():
    table = make_table("s5_conj", 2)
    by_identity = table.x == 0
    assert table.targets[by_identity].tolist() == table.y[by_identity].tolist()
    assert set(table.targets[table.y == 0].tolist()) == {0}


def apply_x_then_y(x, y):
    """openai/grok's product: (x*y)[i] = y[x[i]]."""
    return tuple(y[x[i]] for i in range(5))


GROK = {  # the official code's three S5 tables, written from its product
    "s5_mul": lambda x, y: apply_x_then_y(x, y),
    "s5_conj": lambda x, y: apply_x_then_y(apply_x_then_y(x, y), invert(x)),
    "s5_xyx": lambda x, y: apply_x_then_y(apply_x_then_y(x, y), x),
}


@pytest.mark.parametrize("op", sorted(GROK))
def test_official_tables_equal_ours_after_relabelling_each_element_by_its_inverse(op):
    table = make_table(op, 97)
    ours = {
        (PERMS[x], PERMS[y]): PERMS[z]
        for x, y, z in zip(table.x.tolist(), table.y.tolist(), table.targets.tolist(), strict=True)
    }
    for x, y in product(PERMS, repeat=2):
        assert GROK[op](x, y) == invert(ours[invert(x), invert(y)]), (x, y)
