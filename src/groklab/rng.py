"""Explicit, derived randomness.

Every random draw gets its own generator, derived from the member's seed and a purpose, so a
member's split, init and batch order do not depend on its position in a population, and adding
an intervention never shifts another stream. Library code never seeds the global generator.
"""

import numpy as np
import torch

# Purposes; values never change (a run's numbers depend on them). Append new ones at the end.
SPLIT, INIT, BATCHES, DROPOUT, GRAD_NOISE, LABELS, TEACHER, UPDATE_NOISE, WEIGHT_NOISE = range(9)


def derived_seed(seed: int, purpose: int) -> int:
    """A 63-bit seed for (seed, purpose), identical across processes and machines."""
    state = np.random.SeedSequence([int(seed), int(purpose)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def generator(seed: int, purpose: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh torch generator for one member's draws of one purpose."""
    return torch.Generator(device=device).manual_seed(derived_seed(seed, purpose))
