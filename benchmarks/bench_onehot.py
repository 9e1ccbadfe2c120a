"""The one-hot MLP's first layer as a gather against the one-hot product it replaces.

prieto2025's model at the paper's size (x+y mod 113, 40 % train: 5,108 examples, full batch;
one-hot [x; y] -> 200 -> 200 -> 113, no biases) and its float32 AdamW run (eps 1e-25, wd 0),
M = 1 and M = 4 members (`--variant-members`): ms per training step and per full evaluation
(12,769 examples), with `TableMLP.onehot_first_layer` as it is (the two weight columns summed
as one bag, an index-add backward: models/gather.py) and replaced on the population's template
by the dense product [one_hot(x); one_hot(y)] @ W.T (the code before RESULTS §17) and by two
embedding gathers added (the code of §17-§27). The same numbers (tests/models/test_mlp.py,
tests/models/test_gather.py). Variants are
timed round-robin in one process (`common.round_robin`, medians of the repeats); the load
average and the other processes' CPU are printed, since the machine may be shared.

    .venv/bin/python benchmarks/bench_onehot.py [--repeats 7] [--threads 1]
    .venv/bin/python benchmarks/bench_onehot.py --members 1,16 --threads 2   (population cost)
"""

from __future__ import annotations

import argparse
import types
from dataclasses import replace

import torch
import torch.nn.functional as F

from common import (
    Variant,
    load_average,
    machine_info,
    markdown_table,
    population_table,
    round_robin,
)
from groklab.experiments.prieto2025 import RECIPES, SIZES, recipe_spec
from groklab.perf import set_threads, tune_allocator
from groklab.spec import RunSpec
from groklab.train.state import init_state, make_task
from groklab.train.step import build_loss_fn, evaluate, train_step


def dense_first_layer(self, inputs: torch.Tensor) -> torch.Tensor:
    """The first layer as the product with [one_hot(x); one_hot(y)] [B, 2n] (the old path)."""
    first = self.layers[0]
    onehot = F.one_hot(inputs[:, [0, 2]], self.n_values).flatten(1).to(first.weight)
    return F.linear(onehot, first.weight, first.bias)


def two_gathers_first_layer(self, inputs: torch.Tensor) -> torch.Tensor:
    """The first layer as two embedding gathers added (RESULTS §17-§27's path)."""
    first = self.layers[0]
    rows = first.weight.t().contiguous()  # [2n, H]
    h = F.embedding(inputs[:, 0], rows) + F.embedding(inputs[:, 2] + self.n_values, rows)
    return h if first.bias is None else h + first.bias


FIRST_LAYERS = {"one-hot product": dense_first_layer, "two gathers": two_gathers_first_layer,
                "bag sum": None}  # fmt: skip


def collapse_spec(n_members: int) -> RunSpec:
    """prieto2025's float32 AdamW run at the paper's size, members seeds 0..n_members-1."""
    recipe = next(r for r in RECIPES if r.name == "collapse")
    one = recipe_spec(SIZES["paper"], recipe, 0)
    members = tuple(replace(one.members[0], seed=s) for s in range(n_members))
    return replace(one, members=members)


def closures(spec: RunSpec, *, first_layer: str = "bag sum"):
    """(one training step, one full evaluation) of a fresh state of `spec`, on CPU, its first
    layer computed the `FIRST_LAYERS` way."""
    device = torch.device("cpu")
    task = make_task(spec, device)
    state = init_state(spec, task, device)
    if FIRST_LAYERS[first_layer] is not None:
        template = state.population.template
        template.onehot_first_layer = types.MethodType(FIRST_LAYERS[first_layer], template)
    loss_fn = build_loss_fn(state, task, spec)
    return (lambda: train_step(state, task, spec, loss_fn)), (lambda: evaluate(state, task, spec))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--block-seconds", type=float, default=2.0)
    parser.add_argument(
        "--members",
        default="",
        help="instead: population sizes (e.g. 1,16) per member-step against their GEMM floors",
    )
    parser.add_argument("--variant-members", default="1,4", help="population sizes compared")
    args = parser.parse_args()
    set_threads(args.threads)
    tune_allocator()
    print(machine_info(), f"; load average {load_average()}", flush=True)
    if args.members:
        sizes = [int(m) for m in args.members.split(",")]
        steps = {m: closures(collapse_spec(m))[0] for m in sizes}
        print("\n" + population_table(steps, args.repeats) + "\n", flush=True)
        return
    variants = []
    for n_members in (int(m) for m in args.variant_members.split(",")):
        spec = collapse_spec(n_members)
        for path in FIRST_LAYERS:
            step, ev = closures(spec, first_layer=path)
            variants += [Variant(f"step M={n_members}, {path}", step),
                         Variant(f"evaluation M={n_members}, {path}", ev)]  # fmt: skip
    round_robin(variants, repeats=args.repeats, block_seconds=args.block_seconds,
                quiet_timeout=2.0)  # fmt: skip
    by_name = {v.name: v for v in variants}
    rows = []
    for v in variants:
        product, gathers = (by_name[v.name.replace(v.name.split(", ")[-1], p)]
                            for p in ("one-hot product", "two gathers"))  # fmt: skip
        rows.append([v.name, f"{v.per_call * 1e3:.2f}",
                     "-".join(f"{t * 1e3:.2f}" for t in v.spread),
                     f"{product.per_call / v.per_call:.2f}x",
                     f"{gathers.per_call / v.per_call:.3f}x", f"{v.n_quiet}/{len(v.samples)}",
                     f"{v.other_cpu:.2f}"])  # fmt: skip
    header = ["variant", "ms (median)", "min-max ms", "speed-up over the product",
              "over two gathers", "quiet blocks", "other-tenant cores"]  # fmt: skip
    print("\n" + markdown_table(header, rows), flush=True)
    print(f"\nLoad average at the end {load_average()}.", flush=True)


if __name__ == "__main__":
    main()
