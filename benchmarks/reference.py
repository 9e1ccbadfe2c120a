"""A straightforward reference for the Power et al. (2022) setup, written the way popular
re-implementations do it: a plain nn.Module with nn.MultiheadAttention, the whole sequence
unembedded, torch.optim.AdamW with a LambdaLR warm-up, batches of 512 from a fresh permutation
of the training split per epoch (leftover dropped, as groklab's sampler does), and full
train/validation evaluation every 100 steps.

Model: token embedding + fixed sinusoidal positions, 2 post-LN decoder blocks (causal
nn.MultiheadAttention with 4 heads and its default biases, d_model 128; ReLU MLP 512 without
biases), an untied unembedding to the whole vocabulary; loss on the last position only.
Task: x/y mod 97 (`div`), 50 % train, from groklab's own table and split, so both sides train
on the same examples for the same seed.

    >>> ref = build_reference(seed=0)
    >>> loss = reference_step(ref)            # one AdamW update on a batch of 512
    >>> reference_evaluate(ref)["val_acc"]    # accuracy on the full validation split
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.data import make_table, train_mask

OP, P, TRAIN_FRACTION = "div", 97, 0.5
D_MODEL, N_HEADS, D_MLP, N_LAYERS = 128, 4, 512, 2
BATCH_SIZE, EVAL_EVERY = 512, 100
LR, BETAS, WEIGHT_DECAY, WARMUP = 1e-3, (0.9, 0.98), 1.0, 10


def sinusoids(n_ctx: int, d_model: int) -> Tensor:
    """[T, D] fixed positions of Vaswani et al. (2017)."""
    pos = torch.arange(n_ctx, dtype=torch.float32)[:, None]
    freq = torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    div = torch.exp(freq)
    pe = torch.zeros(n_ctx, d_model)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class DecoderBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_mlp: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ln1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_mlp, bias=False), nn.ReLU(), nn.Linear(d_mlp, d_model, bias=False)
        )
        self.ln2 = nn.LayerNorm(d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        a, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        x = self.ln1(x + a)  # post-LN, as in the official code
        return self.ln2(x + self.mlp(x))


class Decoder(nn.Module):
    def __init__(self, d_vocab: int, n_ctx: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(d_vocab, D_MODEL)
        self.register_buffer("pos", sinusoids(n_ctx, D_MODEL))
        self.register_buffer("mask", torch.triu(torch.ones(n_ctx, n_ctx, dtype=torch.bool), 1))
        self.blocks = nn.ModuleList(DecoderBlock(D_MODEL, N_HEADS, D_MLP) for _ in range(N_LAYERS))
        self.unembed = nn.Linear(D_MODEL, d_vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [B, T] -> logits [B, T, V] (every position)."""
        t = tokens.shape[1]
        x = self.embed(tokens) + self.pos[:t]
        for block in self.blocks:
            x = block(x, self.mask[:t, :t])
        return self.unembed(x)


@dataclass
class Reference:
    model: Decoder
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    inputs: Tensor  # [N, 4] the full table
    targets: Tensor  # [N]
    is_train: Tensor  # [N] bool
    train_idx: Tensor  # [n_train]
    gen: torch.Generator  # batch order
    order: Tensor  # current epoch's permutation of train_idx
    cursor: int = 0
    step: int = 0
    drop_last: bool = True  # every batch exactly BATCH_SIZE; the leftover waits for next epoch


def build_reference(seed: int, *, drop_last: bool = True) -> Reference:
    """Model, AdamW + warm-up, and the x/y mod 97 data with groklab's split for `seed`.

    drop_last=True (the default, as groklab's sampler and `DataLoader(drop_last=True)`): an
    epoch is 9 batches of 512 and the 48 examples left over wait for the next permutation;
    False gives a short 10th batch of 48, as `DataLoader`'s default does.
    """
    table = make_table(OP, P)
    is_train = train_mask(table.n_examples, seed=seed, train_fraction=TRAIN_FRACTION)
    torch.manual_seed(seed)  # as the usual scripts do: global seed, default initialisation
    model = Decoder(table.d_vocab, table.inputs.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP))
    train_idx = is_train.nonzero().flatten()
    gen = torch.Generator().manual_seed(seed)
    return Reference(
        model, opt, sched, table.inputs, table.targets, is_train, train_idx, gen, train_idx,
        cursor=len(train_idx), drop_last=drop_last,
    )  # fmt: skip


def next_batch(ref: Reference) -> Tensor:
    left = len(ref.train_idx) - ref.cursor
    if left <= 0 or (ref.drop_last and left < BATCH_SIZE):  # a fresh permutation per epoch
        ref.order = ref.train_idx[torch.randperm(len(ref.train_idx), generator=ref.gen)]
        ref.cursor = 0
    idx = ref.order[ref.cursor : ref.cursor + BATCH_SIZE]
    ref.cursor += BATCH_SIZE
    return idx


def reference_step(ref: Reference) -> float:
    """One AdamW update on the next batch; returns the batch loss."""
    idx = next_batch(ref)
    logits = ref.model(ref.inputs[idx])  # [B, T, V]
    loss = F.cross_entropy(logits[:, -1], ref.targets[idx])
    ref.opt.zero_grad(set_to_none=True)
    loss.backward()
    ref.opt.step()
    ref.sched.step()
    ref.step += 1
    return loss.item()


@torch.no_grad()
def reference_evaluate(ref: Reference) -> dict[str, float]:
    """Loss and accuracy on the full train and validation splits."""
    ref.model.eval()
    logits = ref.model(ref.inputs)[:, -1]  # [N, V]
    ref.model.train()
    loss = F.cross_entropy(logits, ref.targets, reduction="none")
    hit = (logits.argmax(-1) == ref.targets).float()
    out = {}
    for name, m in (("train", ref.is_train), ("val", ~ref.is_train)):
        out[f"{name}_loss"] = loss[m].mean().item()
        out[f"{name}_acc"] = hit[m].mean().item()
    return out


class ReferenceRun:
    """A run to a validation-accuracy threshold that can be advanced in segments, timing only
    its own work (so it can be interleaved with another run in the same process)."""

    def __init__(
        self,
        seed: int,
        threshold: float = 0.99,
        *,
        max_steps: int = 20_000,
        max_seconds: float = 400.0,
        progress: Callable[[int, float, dict[str, float]], None] | None = None,
    ) -> None:
        self.seed, self.threshold, self.progress = seed, threshold, progress
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.ref: Reference | None = None
        self.seconds = 0.0  # own wall clock so far, model building and evaluations included
        self.steps: int | None = None  # step of the first evaluation at >= threshold
        self.hit_seconds: float | None = None  # own wall clock at that evaluation
        self.finished = False
        self._evaluated_at = -1

    def advance(self, until_step: int | None = None) -> bool:
        """Train up to step `until_step` (None: to the end); True once the run has finished."""
        start = time.perf_counter()
        if self.ref is None:
            self.ref = build_reference(self.seed)
        ref = self.ref
        while not self.finished:
            elapsed = self.seconds + time.perf_counter() - start
            out_of_budget = ref.step >= self.max_steps or elapsed >= self.max_seconds
            if (ref.step % EVAL_EVERY == 0 and self._evaluated_at != ref.step) or out_of_budget:
                metrics = reference_evaluate(ref)
                self._evaluated_at = ref.step
                elapsed = self.seconds + time.perf_counter() - start
                if self.progress is not None:
                    self.progress(ref.step, elapsed, metrics)
                if metrics["val_acc"] >= self.threshold:
                    self.steps, self.hit_seconds, self.finished = ref.step, elapsed, True
                elif out_of_budget:
                    self.finished = True
                if self.finished:
                    break
            if until_step is not None and ref.step >= until_step:
                break
            reference_step(ref)
        self.seconds += time.perf_counter() - start
        return self.finished


def run_reference_to_threshold(
    seed: int,
    threshold: float = 0.99,
    *,
    max_steps: int = 20_000,
    max_seconds: float = 400.0,
    progress: Callable[[int, float, dict[str, float]], None] | None = None,
) -> tuple[int | None, float]:
    """Train until an evaluation (every 100 steps) shows val_acc >= threshold.

    Returns (steps, seconds): the step of that evaluation (None if the cap came first) and the
    wall clock from before building the model until then, evaluations included.
    """
    run = ReferenceRun(
        seed, threshold, max_steps=max_steps, max_seconds=max_seconds, progress=progress
    )
    run.advance()
    return run.steps, run.seconds if run.hit_seconds is None else run.hit_seconds
