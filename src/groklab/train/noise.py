"""Per-member random streams for dropout and the noise interventions (Power et al. 2022, Fig. 2).

Each member draws from its own generator per purpose (groklab/rng.py), and a member whose rate is 0
draws nothing, so a member's numbers are the same alone or in a population, and switching one
intervention on never shifts another's stream. All generator states go into the checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from groklab import rng
from groklab.models import dropout_shape
from groklab.spec import ModelSpec, RunSpec

PURPOSES = {
    "dropout": rng.DROPOUT,
    "grad_noise": rng.GRAD_NOISE,
    "update_noise": rng.UPDATE_NOISE,
    "weight_noise": rng.WEIGHT_NOISE,
}


class Streams:
    def __init__(self, spec: RunSpec) -> None:
        self.rates = {name: [float(getattr(m, name)) for m in spec.members] for name in PURPOSES}
        self.gens = {
            name: [rng.generator(m.seed, purpose) for m in spec.members]
            for name, purpose in PURPOSES.items()
        }

    def active(self, name: str) -> bool:
        return any(self.rates[name])

    def gaussian(self, name: str, shape: tuple[int, ...], device: torch.device) -> Tensor | None:
        """[M, *shape]: sigma_m * N(0, 1) from member m's stream; None if every sigma is 0."""
        if not self.active(name):
            return None
        rows = [
            torch.randn(shape, generator=g) * s if s else torch.zeros(shape)
            for g, s in zip(self.gens[name], self.rates[name], strict=True)
        ]
        return torch.stack(rows).to(device)

    def dropout_keep(
        self, model: ModelSpec, rows: list[int], n_ctx: int, device: torch.device
    ) -> Tensor | None:
        """[M, L, B, T, W] keep-masks with values 0 or 1 / (1 - p_m), drawn for each member's
        own batch size `rows[m]` and padded; None when no member uses dropout."""
        if not self.active("dropout"):
            return None
        width = max(rows)
        masks = []
        for g, p, n in zip(self.gens["dropout"], self.rates["dropout"], rows, strict=True):
            shape = dropout_shape(model, n, n_ctx)
            keep = (torch.rand(shape, generator=g) >= p) / (1.0 - p) if p else torch.ones(shape)
            masks.append(F.pad(keep, (0, 0, 0, 0, 0, width - n)))
        return torch.stack(masks).to(device)

    def state_dict(self) -> dict:
        return {name: [g.get_state() for g in gens] for name, gens in self.gens.items()}

    def load_state_dict(self, d: dict) -> None:
        for name, gens in self.gens.items():
            for g, s in zip(gens, d[name], strict=True):
                g.set_state(s)
