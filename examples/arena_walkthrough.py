"""Grokking modular addition, the route ARENA's and Nanda et al.'s notebooks take, with groklab:
train a population, load one member as a plain module, and look at its embedding in Fourier
space.

    python examples/arena_walkthrough.py               # about 40 s on 2 CPU cores
    python examples/arena_walkthrough.py --tiny        # a few seconds (what the tests run)

The runs go to ./groklab-runs (`--store DIR` to change it; running again reuses them) and the
figure to ./arena_walkthrough.png (`--out DIR`, created if missing).

What it does, top to bottom:
1. trains four one-layer transformers on x + y (mod p) in lock-step in one process: two seeds
   times two weight decays, each member with its own data split;
2. loads the member with the best validation accuracy with `groklab.load` (a plain CPU
   `nn.Module` and its task) and checks it reproduces the validation accuracy the store holds;
3. takes the Fourier transform of its token embedding W_E over the p number tokens: a model
   that has grokked modular addition uses a few frequencies (Nanda et al. 2023, "Progress
   measures for grokking via mechanistic interpretability"), so the embedding's norm
   concentrates on a few of the (p - 1) / 2 frequencies;
4. prints those numbers and saves one figure (accuracy curves, and norm per frequency).

At the default size the two members with weight decay 1.0 grok (validation accuracy 1.0, about
90 % of W_E's energy in three frequencies); those with 0.1 memorize only (validation about 0.2,
about 40 %).

The sizes here are shrunk to run in seconds. The real size (Nanda et al. 2023, which ARENA's
grokking chapter follows; `--size real`): p = 113, one layer, d_model = 128, 4 heads,
d_mlp = 512, learned positions, no layer norm, train_fraction = 0.3, AdamW lr 1e-3,
weight_decay = 1.0 (here beside 0.1 for contrast), betas (0.9, 0.98), full batch, 25,000
steps; there validation accuracy reaches 100 % in the "clean-up" phase, roughly steps 9,000
to 13,000, and about five frequencies carry the embedding (hours on a CPU, minutes on a GPU).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import groklab
from groklab.plots.style import TRAIN_COLOR, VAL_COLOR, build_figure, save_figure
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore

SIZES = {
    "tiny": dict(p=17, d_model=32, d_mlp=64, train_fraction=0.6, lr=3e-3, steps=200),
    "quick": dict(p=23, d_model=64, d_mlp=128, train_fraction=0.8, lr=3e-3, steps=2000),
    "real": dict(p=113, d_model=128, d_mlp=512, train_fraction=0.3, lr=1e-3, steps=25_000),
}


def build_spec(size: str) -> RunSpec:
    """Two seeds x two weight decays on x + y (mod p): four members, one population."""
    s = SIZES[size]
    return RunSpec(
        data=DataSpec(op="add", p=s["p"]),
        model=ModelSpec(
            n_layers=1,
            d_model=s["d_model"],
            n_heads=4,
            d_mlp=s["d_mlp"],
            norm="none",
            positions="learned",
        ),  # fmt: skip
        optim=OptimSpec(optimizer="adamw", beta2=0.98),
        train=TrainSpec(steps=s["steps"], eval_every=max(s["steps"] // 30, 1), batch_size="full"),
        members=members_from(
            seed=[0, 1, 0, 1],
            weight_decay=[0.1, 0.1, 1.0, 1.0],
            lr=s["lr"],
            train_fraction=s["train_fraction"],
        ),  # fmt: skip
    )


def fourier_norms(W_E: torch.Tensor, p: int) -> np.ndarray:
    """Norm of the embedding's k-th Fourier component, k = 1 .. (p - 1) // 2 (k and p - k are
    one real frequency, so their norms are combined); [K].

    W_E[:p] is [p, D], one row per number token; the DFT runs along the token axis.
    """
    coefficients = np.fft.fft(W_E[:p].detach().double().numpy(), axis=0)  # [p, D] complex
    power = (np.abs(coefficients) ** 2).sum(axis=1)  # [p]
    k = np.arange(1, (p - 1) // 2 + 1)
    return np.sqrt(power[k] + power[p - k])  # [K]


def top_share(norms: np.ndarray, n: int = 3) -> float:
    """Share of the embedding's (non-constant) energy in its `n` strongest frequencies."""
    energy = np.sort(norms**2)[::-1]
    return float(energy[:n].sum() / energy.sum())


def model_of(run_id: str, member: int, store: str) -> torch.nn.Module:
    return groklab.load(run_id, member=member, store=store)[0]


def save_walkthrough_figure(
    curves: dict, member: int, title: str, norms: np.ndarray, path: Path
) -> None:
    fig = build_figure(2)
    left, right = fig.axes
    for name, color in (("train_acc", TRAIN_COLOR), ("val_acc", VAL_COLOR)):
        left.plot(curves["step"], curves[name][member], color=color, label=name)
    left.set(xscale="log", xlabel="step", ylabel="accuracy", title=title)
    left.legend()
    right.bar(np.arange(1, norms.size + 1), norms, color=TRAIN_COLOR)
    right.set(xlabel="frequency k", ylabel="|FFT(W_E)|", title="embedding per frequency")
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--tiny", action="store_const", const="tiny", dest="size")
    parser.add_argument("--store", default="groklab-runs", help="run store directory")
    parser.add_argument("--out", default=".", help="directory for the figure (created)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. A population: four members, one process, one call.
    spec = build_spec(args.size)
    result = train(spec, RunStore(args.store))
    final_train = result.curves["train_acc"][:, -1]  # [M]
    final_val = result.curves["val_acc"][:, -1]  # [M]
    print(f"run {result.run_id}: {spec.n_members} members, {result.step} steps")
    for i, m in enumerate(spec.members):
        print(
            f"  member {i}: seed {m.seed}, weight decay {m.weight_decay}: "
            f"train {final_train[i]:.3f}, val {final_val[i]:.3f}"
        )

    # 2. One member as a plain nn.Module with its own task (data split, targets).
    member = int(np.argmax(final_val))
    model, task = groklab.load(result.run_id, member=member, store=args.store)
    measured = task.evaluate(model)
    at = int(np.flatnonzero(result.curves["step"] == task.step)[0])
    stored = result.curves["val_acc"][member, at]
    print(f"loaded member {member} at step {task.step}: val {measured['val_acc']:.3f}", end="")
    print(f" (the store holds {stored:.3f})")

    # 3. Its embedding in Fourier space: how much sits in the strongest three frequencies?
    norms = fourier_norms(model.W_E, spec.data.p)
    strongest = (np.argsort(norms)[::-1][:3] + 1).tolist()
    print(f"  strongest frequencies {strongest}")
    shares = [top_share(fourier_norms(model_of(result.run_id, i, args.store).W_E, spec.data.p))
              for i in range(spec.n_members)]  # fmt: skip
    for i, share in enumerate(shares):
        print(f"  member {i}: {share:.0%} of W_E's energy in its 3 strongest frequencies")

    figure = out / "arena_walkthrough.png"
    title = f"member {member}, weight decay {spec.members[member].weight_decay}"
    save_walkthrough_figure(result.curves, member, title, norms, figure)
    print(f"wrote {figure}")
    return {
        "run_id": result.run_id,
        "member": member,
        "step": task.step,
        "final_train_acc": final_train,
        "final_val_acc": final_val,
        "loaded_val_acc": measured["val_acc"],
        "stored_val_acc": float(stored),
        "fourier_norms": norms,
        "top_share": shares,
        "figure": figure,
    }


if __name__ == "__main__":
    main()
