"""The symmetric group S5 as index tables.

A permutation is the tuple of images of (0, 1, 2, 3, 4); the 120 of them are numbered in
lexicographic order, so index 0 is the identity. The product x·y is composition "apply y, then
x": (x·y)[i] = x[y[i]]. Power et al.'s code (openai/grok) composes the other way,
(x·y)[i] = y[x[i]]; its tables equal these after relabelling g -> g^-1 (checked cell by cell for
all three S5 operations in tests/data/test_s5.py), so the tasks are the same.

Example: x = (1, 0, 2, 3, 4) swaps 0 and 1, y = (0, 2, 1, 3, 4) swaps 1 and 2, and
x·y = (x[0], x[2], x[1], x[3], x[4]) = (1, 2, 0, 3, 4):

>>> PERMS[COMPOSE[PERMS.index((1, 0, 2, 3, 4)), PERMS.index((0, 2, 1, 3, 4))]]
(1, 2, 0, 3, 4)
"""

from itertools import permutations

import numpy as np

Perm = tuple[int, ...]

ORDER = 120  # |S5| = 5!

# itertools.permutations of a sorted input yields lexicographic order.
PERMS: tuple[Perm, ...] = tuple(permutations(range(5)))
_INDEX: dict[Perm, int] = {perm: i for i, perm in enumerate(PERMS)}


def _compose(x: Perm, y: Perm) -> Perm:
    """Apply y, then x."""
    return tuple(x[y[i]] for i in range(5))


def _invert(x: Perm) -> Perm:
    """The permutation sending x[i] back to i."""
    return tuple(x.index(j) for j in range(5))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# COMPOSE[x, y] = index of x·y; INVERSE[x] = index of x⁻¹ (both int64, read-only).
COMPOSE: np.ndarray = _frozen(
    np.array([[_INDEX[_compose(x, y)] for y in PERMS] for x in PERMS], dtype=np.int64)
)
INVERSE: np.ndarray = _frozen(np.array([_INDEX[_invert(x)] for x in PERMS], dtype=np.int64))
