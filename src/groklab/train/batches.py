"""Per-member minibatches: each member walks a fresh permutation of its own training split.

Batch sizes follow Power et al. 2022: min(512, ceil(|train| / 2)) ("power"), the whole split
("full"), a fraction of it (a float in (0, 1]) or a fixed number (capped at |train|).

Every minibatch has exactly the batch size: an epoch is floor(|train| / B) batches of a fresh
permutation, and the |train| mod B examples left over wait for the next permutation. A short
last batch would get a full-sized Adam step from as little as one example: at |train| = 769,
B = 128 that one-example batch made x+y mod 31 fit 6x slower. Members whose batches differ in
size are padded, with a 0/1 weight per row.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from groklab import rng


def batch_size_for(rule: int | str, n_train: int) -> int:
    if rule == "power":
        return min(512, math.ceil(n_train / 2))
    if rule == "full":
        return n_train
    if isinstance(rule, float):  # a fraction of the training set
        return max(1, round(rule * n_train))
    return min(int(rule), n_train)


class BatchSampler:
    """Draws [M, B] example indices; state (permutations, cursors, generators) is checkpointed."""

    def __init__(self, masks: Tensor, seeds: list[int], rule: int | str) -> None:
        self.train_idx = [m.nonzero().flatten() for m in masks.cpu()]  # M x [n_train]
        self.sizes = [batch_size_for(rule, len(i)) for i in self.train_idx]
        self.full = rule == "full"
        self.gens = [rng.generator(s, rng.BATCHES) for s in seeds]
        self.perms: list[Tensor] = [i for i in self.train_idx]
        self.cursors = [len(i) for i in self.train_idx]  # exhausted: the first call permutes

    def next(self) -> tuple[Tensor, Tensor | None]:
        """indices [M, B] into the table, and weights [M, B] (None when no row is padding)."""
        rows = self.train_idx if self.full else [self._take(m) for m in range(len(self.gens))]
        width = max(len(r) for r in rows)
        if all(len(r) == width for r in rows):
            return torch.stack(rows), None
        idx = torch.zeros(len(rows), width, dtype=torch.long)
        weight = torch.zeros(len(rows), width)
        for m, r in enumerate(rows):
            idx[m, : len(r)] = r
            weight[m, : len(r)] = 1.0
        return idx, weight

    def _take(self, m: int) -> Tensor:
        n, size = len(self.train_idx[m]), self.sizes[m]
        if self.cursors[m] + size > n:  # the rest of the permutation is not a whole batch
            order = torch.randperm(n, generator=self.gens[m])
            self.perms[m] = self.train_idx[m][order]
            self.cursors[m] = 0
        start = self.cursors[m]
        self.cursors[m] = start + self.sizes[m]
        return self.perms[m][start : start + self.sizes[m]]

    def state_dict(self) -> dict:
        return {
            "perms": list(self.perms),
            "cursors": list(self.cursors),
            "gens": [g.get_state() for g in self.gens],
        }

    def load_state_dict(self, d: dict) -> None:
        self.perms = list(d["perms"])
        self.cursors = list(d["cursors"])
        for g, s in zip(self.gens, d["gens"], strict=True):
            g.set_state(s)
