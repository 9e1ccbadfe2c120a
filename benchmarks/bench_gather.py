"""The scored-tables path's score gather: the embedding kernel against index_select.

Nanda et al.'s task (x+y mod 113, 30 %: 3,831 training examples, full batch) scores each
example's two varying positions by gathering rows of an [n V, H] = [228, 4] table
(`Transformer._forward_scored_tables`). Forward and backward of that gather alone, under `vmap`
as a population runs it, for M = 1, 4, 16 members: `F.embedding` (whose CPU backward sorts the
indices before it adds) against `index_select` (whose backward is an index-add). Both give the
same rows and the same gradient to the bit (checked here). Variants are timed round-robin in
one process (`common.round_robin`, medians of the quiet repeats).

    .venv/bin/python benchmarks/bench_gather.py [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from common import Variant, load_average, machine_info, markdown_table, round_robin
from groklab.perf import set_threads, tune_allocator

ROWS, HEADS, EXAMPLES, POSITIONS = 228, 4, 3831, 2


def gathers(members: int) -> dict[str, callable]:
    """name -> one forward and backward of the gather for `members` members."""
    gen = torch.Generator().manual_seed(0)
    rows = torch.randint(0, ROWS, (EXAMPLES, POSITIONS), generator=gen)
    grad = torch.randn(members, EXAMPLES, POSITIONS, HEADS, generator=gen)
    table = torch.randn(members, ROWS, HEADS, generator=gen, requires_grad=True)
    forms = {
        "embedding": lambda t: F.embedding(rows, t),
        "index_select": lambda t: t.index_select(0, rows.flatten()).view(*rows.shape, HEADS),
    }

    def step(form):
        out = torch.func.vmap(form)(table)
        (g,) = torch.autograd.grad(out, table, grad)
        return out, g

    (a, ga), (b, gb) = (step(f) for f in forms.values())
    assert torch.equal(a, b) and torch.equal(ga, gb), "the two gathers differ"
    return {name: (lambda f=f: step(f)) for name, f in forms.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tune_allocator()
    set_threads(args.threads)
    print(machine_info(), f"threads {args.threads}, load average {load_average()}")
    variants = [
        Variant(f"{name}, M = {m}", fn) for m in (1, 4, 16) for name, fn in gathers(m).items()
    ]
    round_robin(variants, repeats=args.repeats, block_seconds=0.5)
    rows = []
    for old, new in zip(variants[::2], variants[1::2], strict=True):
        lo, hi = (f"{t * 1e3:.3f}" for t in new.spread)
        quiet = f"{old.n_quiet + new.n_quiet}/{len(old.samples) + len(new.samples)}"
        change = f"{(new.per_call - old.per_call) * 1e3:+.3f}"
        members = old.name.split(", ")[1]
        after = f"{new.per_call * 1e3:.3f} ({lo}-{hi})"
        rows.append([members, f"{old.per_call * 1e3:.3f}", after, change, quiet])
    header = ["members", "embedding ms", "index_select ms (min-max)", "change ms", "quiet"]
    print(markdown_table(header, rows))
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
