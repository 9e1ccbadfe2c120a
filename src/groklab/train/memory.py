"""Will a population fit? A coarse estimate of its memory, made before anything is allocated.

    estimate = estimate_memory(spec)          # MemoryEstimate: bytes by part
    check_memory(spec, torch.device("cpu"))   # GroklabError (one line) if it cannot fit

The parameter count is exact: each member's model is built on PyTorch's "meta" device, which
records shapes and allocates nothing. From it, the training state: weights, gradients and the
optimizer's state (each `OptimizerEntry.state_copies`: Adam and Muon 2 per weight, SGD 1), the
copy of the initial weights where decay or a norm constraint needs it, and what each gradient
transform keeps (`TransformEntry.state_copies`: Grokfast-EMA 1, Grokfast-MA its window, the
others 0; plus one working gradient for a chain), all [M, P]. Activations are coarser: per
example and position, the output width of every weight matrix (plus the attention scores of
a transformer), times 1.5 (kept for the backward pass, and its gradient), for the largest
batch a member trains on, or for one chunk of the evaluation (no autograd), whichever is
larger. Measured twice: power2022's transformer, 4 members, full batch of add mod 97, 1
thread (benchmarks/RESULTS.md's "memory estimate" section: 1.4x over), and an MLP whose 100
Grokfast-MA gradients dominate (tests/train/test_memory.py: the peak grew 1.09x the
estimate). Two measurements are no bound, so read it as right within a small factor. It is a
guard against runs that cannot fit (a d_model 65,536 x 64-layer transformer, 65,536 members),
not a promise that all below fits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from groklab.errors import GroklabError
from groklab.spec import RunSpec

if TYPE_CHECKING:
    from groklab.data.datasets import Dataset

# the parameters' bytes per value (bf16 trains fp32 weights under autocast)
_BYTES = {"float32": 4, "bf16": 4, "float64": 8}


@dataclass(frozen=True)
class MemoryEstimate:
    n_members: int
    n_params: int  # per member, exact
    state_bytes: int  # weights, gradients, optimizer moments, init copy, transform buffers
    activation_bytes: int  # the largest forward + backward pass (coarse)
    data_bytes: int  # the examples, each member's targets and masks

    @property
    def total(self) -> int:
        return self.state_bytes + self.activation_bytes + self.data_bytes

    def text(self) -> str:
        return (
            f"about {_gb(self.total)} ({self.n_members:,} members x {self.n_params:,} "
            f"parameters: {_gb(self.state_bytes)} of weights, gradients and optimizer state, "
            f"{_gb(self.activation_bytes)} of activations, {_gb(self.data_bytes)} of data)"
        )


def estimate_memory(spec: RunSpec, dataset: Dataset | None = None) -> MemoryEstimate:
    """The population's memory by part, from its spec and its data set's shapes (`dataset`:
    the spec's, if already made)."""
    from groklab.data.datasets import make_dataset
    from groklab.models import build_model
    from groklab.train.batches import batch_size_for
    from groklab.train.optim import optimizer_entry
    from groklab.train.step import EVAL_ROWS
    from groklab.train.transforms import state_copies

    dataset = make_dataset(spec.data) if dataset is None else dataset
    inputs = dataset.inputs
    d_out = 1 if spec.train.loss == "bce" else dataset.d_out
    # positions: a token sequence has one per token; a feature vector (MNIST's 784 pixels, a
    # graph's features) is one example at one position, however wide
    n_ctx = inputs.shape[1] if dataset.is_tokens and inputs.dim() > 1 else 1
    with torch.device("meta"):
        model = build_model(
            spec.model,
            d_vocab=dataset.d_vocab,
            n_ctx=n_ctx,
            d_out=d_out,
            input_shape=tuple(inputs.shape[1:]),
            generator=torch.Generator(),
        )
    n_params = sum(p.numel() for p in model.parameters())
    m, size = spec.n_members, _BYTES[spec.train.dtype]
    copies = 2 + optimizer_entry(spec.optim.optimizer).state_copies + state_copies(spec)
    copies += spec.optim.decay_to == "init" or bool(spec.interventions.norm_constraint)
    n = dataset.n_examples
    n_train = max(_n_train(member, n) for member in spec.members)
    batch = batch_size_for(spec.train.batch_size, max(n_train, 1))
    per_example = _activations_per_example(model, spec, n_ctx)
    # evaluation runs without autograd, in chunks of EVAL_ROWS member-examples
    eval_rows = min(m * n, max(EVAL_ROWS, m))
    data = inputs.numel() * inputs.element_size() + m * n * (dataset.targets.element_size() + 2)
    return MemoryEstimate(
        n_members=m,
        n_params=n_params,
        state_bytes=m * n_params * size * copies,
        activation_bytes=max(3 * m * batch // 2, eval_rows) * per_example * size,
        data_bytes=data,
    )


def available_memory(device: torch.device) -> int | None:
    """Bytes free for a new allocation: CUDA's free memory, or the machine's MemAvailable."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None  # unknown: no check


def check_memory(
    spec: RunSpec, device: torch.device | str | None, dataset: Dataset | None = None
) -> MemoryEstimate:
    """The estimate, or a one-line GroklabError if it exceeds the memory available on
    `device` (nothing has been allocated or written then)."""
    from groklab.train.loop import pick_device

    device = pick_device(None if device is None else str(device))
    estimate = estimate_memory(spec, dataset)
    free = available_memory(device)
    if free is not None and estimate.total > free:
        raise GroklabError(
            f"run {spec.run_id} needs {estimate.text()}; {device.type} has {_gb(free)} "
            "available: make the population, the model or the batch smaller"
        )
    return estimate


def _n_train(member, n: int) -> int:
    return member.n_train or round(member.train_fraction * n)


def _activations_per_example(model: torch.nn.Module, spec: RunSpec, n_ctx: int) -> int:
    """Values one example produces in a forward pass: each matrix's output width at each
    position (embedding tables are looked up, not multiplied), plus attention scores."""
    widths = sum(
        max(p.shape) if p.dim() == 2 else p.numel() // max(p.shape)  # [H, D, d_head]: H d_head
        for name, p in model.named_parameters()
        if p.dim() >= 2 and not name.startswith(("W_E", "W_pos"))
    )
    heads = spec.model.n_layers * spec.model.n_heads if spec.model.arch == "transformer" else 0
    return n_ctx * (widths + heads * n_ctx)


def _gb(n: float) -> str:
    if n >= 1e8:
        return f"{n / 1e9:,.1f} GB"
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} kB"
