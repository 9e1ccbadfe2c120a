"""Gradient transforms: an ordered chain on the flat [M, P] gradient, between backward and the
optimizer, each member with its own parameters and every transform with named state tensors.

The chain is the spec's `[optim] transforms` in the order given, applied to the raw gradient
(Grokfast filters raw gradients), then the built-in ones: `grad_noise` (a member's
`grad_noise` sigma, drawn from its own stream) and `clip` (`[optim] grad_clip`), as before
transforms existed. Per-member parameters are [M, 1] tensors, like lr and weight decay; state
is a dict of tensors that the checkpoint saves as it is.

- `grokfast_ema` (Lee et al. 2024): mu <- alpha mu + (1 - alpha) g, mu starting at the first g;
  g <- g + lamb mu. Per member `grokfast_ema_alpha` (0.98), `grokfast_ema_lamb` (2).
- `grokfast_ma`: g <- g + lamb mean(last w gradients), once w gradients have been seen.
  `[optim] grokfast_ma_window` w (100), per member `grokfast_ma_lamb` (5).
- `orthograd` (Prieto et al. 2025): per member and parameter tensor, the gradient's component
  along the weights is removed, g_perp = g - (w.g / (w.w + 1e-30)) w, and the result rescaled
  to the original norm: g_perp ||g|| / (||g_perp|| + 1e-30).
- `egd` (Pasand & Dohmatob 2026, "Egalitarian gradient descent"): per member and weight matrix
  (every parameter that is the matrix of a linear map, W_E and W_U included; a per-head W_Q
  [n_heads, d_model, d_head] is its [d_model, n_heads * d_head] map, as Muon sees it), the
  gradient G = U S V^T becomes U min(1, S / eps) V^T with eps 1e-9: U V^T, every singular
  direction at the same speed, where the authors' (G G^T)^(-1/2) G with S clamped at eps is
  exactly this. Vectors (biases, gains) pass unchanged. One batched SVD per matrix, [M, a, b].

Example, a chain on 2 members of 3 parameters:
    >>> chain = build_chain(spec, sizes=[3], streams=Streams(spec), device=torch.device("cpu"))
    >>> state = chain.init_state(flat)                 # {"grokfast_ema": {"mu": ..., "n": ...}}
    >>> grad = chain(grad, flat, state)                # [2, 3]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from groklab.errors import SpecError
from groklab.spec import RunSpec
from groklab.train.muon import Matrix, matrix_view
from groklab.train.noise import Streams
from groklab.train.reduce import fixed_sum

State = dict[str, Tensor]
EGD_EPS = 1e-9  # singular values below it are scaled by 1/eps, not inverted (the authors' clamp)


class GrokfastEMA:
    name = "grokfast_ema"

    def __init__(self, alpha: Tensor, lamb: Tensor) -> None:
        self.alpha, self.lamb = alpha, lamb  # [M, 1] each

    def init_state(self, flat: Tensor) -> State:
        return {"mu": torch.zeros_like(flat), "n": torch.zeros((), dtype=torch.long)}

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        if state["n"] == 0:
            state["mu"].copy_(grad)
        else:
            state["mu"].mul_(self.alpha).add_((1 - self.alpha) * grad)
        state["n"] += 1
        return grad + self.lamb * state["mu"]


class GrokfastMA:
    name = "grokfast_ma"

    def __init__(self, window: int, lamb: Tensor) -> None:
        self.window, self.lamb = window, lamb  # lamb [M, 1]

    def init_state(self, flat: Tensor) -> State:
        buffer = flat.new_zeros((self.window, *flat.shape))  # [w, M, P] ring of past gradients
        return {"buffer": buffer, "n": torch.zeros((), dtype=torch.long)}

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        state["buffer"][int(state["n"]) % self.window] = grad
        state["n"] += 1
        if state["n"] < self.window:
            return grad
        return grad + self.lamb * state["buffer"].mean(0)


class OrthoGrad:
    name = "orthograd"

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)  # each parameter tensor's share of P

    def init_state(self, flat: Tensor) -> State:
        return {}

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        out = []
        for g, w in zip(grad.split(self.sizes, 1), flat.detach().split(self.sizes, 1), strict=True):
            # fixed_sum: with one member torch.sum's rounding would follow the thread count
            along = fixed_sum(w * g, 1, keepdim=True) / (fixed_sum(w * w, 1, keepdim=True) + 1e-30)
            perp = g - along * w  # [M, n]
            norm = g.norm(dim=1, keepdim=True) / (perp.norm(dim=1, keepdim=True) + 1e-30)
            out.append(perp * norm)
        return torch.cat(out, 1)


class Egalitarian:
    name = "egd"

    def __init__(self, matrices: Sequence[Matrix]) -> None:
        self.matrices = list(matrices)  # the weight matrices, in flat order

    def init_state(self, flat: Tensor) -> State:
        return {}

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        out = grad.clone()
        for mat in self.matrices:
            g = mat.as_matrix(grad[:, mat.start : mat.start + mat.size])  # [M, a, b]
            u, s, vh = torch.linalg.svd(g, full_matrices=False)
            gain = s / s.clamp(min=EGD_EPS)  # 1, or s / eps below eps (the clamped inverse)
            out[:, mat.start : mat.start + mat.size] = mat.as_flat((u * gain[:, None, :]) @ vh)
        return out


def weight_matrices(names: Sequence[str], shapes: Sequence[Sequence[int]]) -> list[Matrix]:
    """Every parameter that is a weight matrix (train/muon.py's view of its linear map)."""
    matrices, start = [], 0
    for name, shape in zip(names, shapes, strict=True):
        shape = tuple(int(n) for n in shape)
        matrix = matrix_view(name, start, shape, io=())
        if matrix is not None:
            matrices.append(matrix)
        start += math.prod(shape)
    return matrices


class GradNoise:
    name = "grad_noise"

    def __init__(self, streams: Streams, device: torch.device) -> None:
        self.streams, self.device = streams, device

    def init_state(self, flat: Tensor) -> State:
        return {}  # the generators live in the streams, which the checkpoint saves

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        return grad + self.streams.gaussian("grad_noise", grad.shape[1:], self.device)


class Clip:
    name = "clip"

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def init_state(self, flat: Tensor) -> State:
        return {}

    def __call__(self, grad: Tensor, flat: Tensor, state: State) -> Tensor:
        return clip_grad(grad, self.max_norm)


def clip_grad(grad: Tensor, max_norm: float) -> Tensor:
    """Each member's gradient [M, P] scaled to at most `max_norm` (as clip_grad_norm_)."""
    norm = grad.norm(dim=1, keepdim=True)
    return grad * (max_norm / (norm + 1e-6)).clamp(max=1.0)


Transform = GrokfastEMA | GrokfastMA | OrthoGrad | Egalitarian | GradNoise | Clip


@dataclass(frozen=True)
class Params:
    """What a transform may need of the population's parameters: names, shapes, sizes."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def sizes(self) -> list[int]:
        return [math.prod(shape) for shape in self.shapes]


Builder = Callable[[RunSpec, Params, torch.device], Transform]


def _per_member(spec: RunSpec, name: str, device: torch.device) -> Tensor:
    return torch.tensor([[float(getattr(m, name))] for m in spec.members], device=device)


@dataclass(frozen=True)
class TransformEntry:
    """One gradient transform: how it is built and what it keeps. Its name and the spec
    fields only it reads (its knobs, with their help) are declared in groklab/plugins.py."""

    name: str  # as `[optim] transforms` lists it (spec.TRANSFORM_NAMES)
    build: Builder
    # [M, P] tensors it keeps between steps (train/memory.py's estimate)
    state_copies: Callable[[RunSpec], int]


# one line per transform
TRANSFORM_ENTRIES: dict[str, TransformEntry] = {
    entry.name: entry
    for entry in (
        TransformEntry(
            "grokfast_ema",
            lambda spec, params, device: GrokfastEMA(
                _per_member(spec, "grokfast_ema_alpha", device),
                _per_member(spec, "grokfast_ema_lamb", device),
            ),
            lambda spec: 1,
        ),
        TransformEntry(
            "grokfast_ma",
            lambda spec, params, device: GrokfastMA(
                spec.optim.grokfast_ma_window, _per_member(spec, "grokfast_ma_lamb", device)
            ),
            lambda spec: spec.optim.grokfast_ma_window,  # its window of past gradients
        ),
        TransformEntry(
            "orthograd", lambda spec, params, device: OrthoGrad(params.sizes), lambda spec: 0
        ),
        TransformEntry("egd", lambda spec, params, device: _egalitarian(params), lambda spec: 0),
    )
}
# the builders and state sizes by name, as they were exported before the entries
TRANSFORMS: dict[str, Builder] = {name: e.build for name, e in TRANSFORM_ENTRIES.items()}
STATE_COPIES: dict[str, Callable[[RunSpec], int]] = {
    name: e.state_copies for name, e in TRANSFORM_ENTRIES.items()
}


def state_copies(spec: RunSpec) -> int:
    """The [M, P] tensors the spec's transforms keep, together, plus one for the gradient a
    chain works on (a transform returns a new tensor) when there is any transform."""
    names = spec.optim.transforms
    return sum(TRANSFORM_ENTRIES[name].state_copies(spec) for name in names) + bool(names)


def _egalitarian(params: Params) -> Egalitarian:
    matrices = weight_matrices(params.names, params.shapes)
    if not matrices:
        raise SpecError(
            f"transform 'egd' whitens weight matrices; this model has none (parameters: "
            f"{', '.join(params.names)}); allowed: a model with a 2-D weight"
        )
    return Egalitarian(matrices)


class Chain:
    """The transforms in order; `state` maps each transform's name to its named tensors."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def init_state(self, flat: Tensor) -> dict[str, State]:
        return {t.name: t.init_state(flat.detach()) for t in self.transforms}

    @torch.no_grad()
    def __call__(self, grad: Tensor, flat: Tensor, state: dict[str, State]) -> Tensor:
        for t in self.transforms:
            grad = t(grad, flat, state[t.name])
        return grad


def build_chain(
    spec: RunSpec,
    *,
    sizes: Sequence[int],
    streams: Streams,
    device: torch.device,
    names: Sequence[str] = (),
    shapes: Sequence[Sequence[int]] = (),
) -> Chain:
    """The spec's transforms, then gradient noise and clipping where the spec asks for them.
    `names` and `shapes` are the parameters' (without them: unnamed vectors of `sizes`)."""
    params = Params(
        tuple(names) or tuple(f"p{i}" for i in range(len(sizes))),
        tuple(tuple(int(n) for n in s) for s in shapes) or tuple((int(n),) for n in sizes),
    )
    if params.sizes != list(sizes):
        raise ValueError(f"shapes {params.shapes} do not hold sizes {list(sizes)}")
    chain = [TRANSFORM_ENTRIES[name].build(spec, params, device) for name in spec.optim.transforms]
    if streams.active("grad_noise"):
        chain.append(GradNoise(streams, device))
    if spec.optim.grad_clip:
        chain.append(Clip(spec.optim.grad_clip))
    return Chain(chain)
