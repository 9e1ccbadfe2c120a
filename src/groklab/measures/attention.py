"""How alike a transformer's attention heads look at the task's inputs (Verma 2026, "Weight
decay regimes in grokking transformers: cheap online diagnostics", arXiv 2605.20441: mean
pairwise head cosine similarity and the spread of attention entropy over heads, read from
attention activations; a collapsed run's heads all attend alike).

For each block, A[h, b, t] is head h's attention at the answer (last) position of example b
over the key positions t, on every input of the task (the full table: train and validation):

- `head_cosine(a)`: the mean over head pairs h < h' of the cosine similarity of A[h] and A[h']
  flattened over (b, t); 1 when every head attends alike, lower as heads specialize (patterns
  are non-negative, so it never falls below 0);
- `head_entropies(a)`: each head's mean over examples of the Shannon entropy -sum_t A log A
  (nats) of its pattern; `attn_entropy_std/<block>` is their standard deviation over heads
  (population, ddof 0) and `attn_entropy/<block>` their mean.

Example, two heads attending uniformly over 3 keys are alike and have entropy log 3 each:

    >>> a = torch.full((2, 5, 3), 1 / 3, dtype=torch.float64)   # [H, B, T]
    >>> round(float(head_cosine(a)), 12), (head_entropies(a) - math.log(3)).abs().max() < 1e-12
    (1.0, tensor(True))

The answer position's query is the one the logits read in every layout (`x op y =`, `x y =`),
and the only one the last block computes; earlier blocks' other queries are not scored.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask
    from groklab.spec import RunSpec


def head_cosine(a: Tensor) -> Tensor:
    """a [..., H, B, T] -> [...]: the mean pairwise cosine similarity of the heads' patterns."""
    v = a.flatten(-2)
    v = v / v.norm(dim=-1, keepdim=True)
    sim = v @ v.transpose(-1, -2)  # [..., H, H]
    h = a.shape[-3]
    off_diagonal = sim.sum((-2, -1)) - sim.diagonal(dim1=-2, dim2=-1).sum(-1)
    return off_diagonal / (h * (h - 1))


def head_entropies(a: Tensor) -> Tensor:
    """a [..., H, B, T] -> [..., H]: each head's mean entropy of its pattern (nats)."""
    return -torch.special.xlogy(a, a).sum(-1).mean(-1)


@torch.no_grad()
def answer_patterns(model: nn.Module, inputs: Tensor) -> list[Tensor]:
    """Each block's attention at the answer position, [H, N, T] float64, in one forward pass.

    The blocks are hooked rather than re-run: the model may score its shared prefix apart
    (Transformer.share_prefix), so only the calls that see all T keys are read, at the query of
    position T - 1; a one-block model that scores its attention on tables is run without them
    (its attention module is not called there)."""
    t = inputs.shape[1]
    blocks = list(model.blocks)
    seen: dict[int, Tensor] = {}

    def hook(index: int):
        def read(module, args, kwargs, output) -> None:
            q, parts, _ = args  # the keys come in parts along T (Attention.forward)
            if sum(part.shape[1] for part in parts) != t:  # the shared prefix alone
                return
            row = t - 1 - kwargs["offset"]
            h = module.n_heads
            query = q[:, row].double().reshape(q.shape[0], h, -1)  # [N, H, dh]
            kv = torch.cat(list(parts), 1).double()  # [N, T, D]
            keys = kv.reshape(*kv.shape[:2], h, -1)
            scores = torch.einsum("nhd,nthd->hnt", query, keys) / math.sqrt(query.shape[-1])
            seen[index] = scores.softmax(-1)  # the last query sees every key: no mask

        return read

    handles = [
        block.attn.register_forward_hook(hook(i), with_kwargs=True)
        for i, block in enumerate(blocks)
    ]
    tables = getattr(model, "score_tables", None)  # scored on tables, the module is not called
    try:
        if tables is not None:
            model.score_tables = False
        model(inputs)
    finally:
        if tables is not None:
            model.score_tables = tables
        for handle in handles:
            handle.remove()
    return [seen[i] for i in range(len(blocks))]


def applies_to(spec: RunSpec) -> bool:
    return spec.model.arch == "transformer"


def applies_to_heads(spec: RunSpec) -> bool:
    """A transformer with at least two heads: pairs to compare."""
    return applies_to(spec) and spec.model.n_heads >= 2


# -- the registered measures: fn(model, task) -> {name: value} --------------------------------


def head_cosine_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`attn_head_cos/blocks.<i>.attn`: mean pairwise cosine similarity of the heads' patterns."""
    patterns = answer_patterns(model, task.inputs)
    return {f"attn_head_cos/blocks.{i}.attn": float(head_cosine(a)) for i, a in enumerate(patterns)}


def entropy_measure(model: nn.Module, task: MemberTask) -> dict[str, float]:
    """`attn_entropy_std/blocks.<i>.attn` (std over heads of their mean attention entropy) and
    `attn_entropy/blocks.<i>.attn` (the mean over heads)."""
    out = {}
    for i, a in enumerate(answer_patterns(model, task.inputs)):
        entropies = head_entropies(a)  # [H]
        out[f"attn_entropy_std/blocks.{i}.attn"] = float(entropies.std(correction=0))
        out[f"attn_entropy/blocks.{i}.attn"] = float(entropies.mean())
    return out
