"""The benchmark's methods: a registry of changes to a task's run, each with its paper's settings.

Every method starts from its task's optimizer settings (betas, warm-up, learning rate: tasks.py)
and changes the optimizer, its weight decay, the loss or the gradient. The settings are the
papers' (or, where a paper gives none for these tasks, the matched baseline's) and were fixed
before any benchmark ran; `Method.settings` says how each was set. Learning rates are the
task's times `lr_scale`, so that one method means the same thing on a transformer at 1e-3 and on
Prieto's MLP at 1e-2.

Two baselines: `adamw` (AdamW, decoupled weight decay 1, the task's lr: the matched baseline
every speed-up is measured against) and `adamw-lr3` (the same at 3x the lr: the fair-lr
baseline, since a method that takes larger effective steps must beat a larger lr to count).

A new method is one `register_method(Method(...))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groklab.bench.tasks import Task
from groklab.errors import GroklabError

MATCHED = "adamw"  # the baseline every speed-up is measured against
BASELINES = ("adamw", "adamw-lr3")


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # one short line for tables and legends
    citation: str
    settings: str  # how its settings were chosen
    optim: dict = field(default_factory=dict)  # OptimSpec fields set over the task's
    member: dict = field(default_factory=dict)  # MemberSpec fields (weight decay, filters)
    loss: str = "ce"
    lr_scale: float = 1.0
    archs: tuple[str, ...] = ("transformer", "mlp")  # the model architectures it applies to

    def refuses(self, task: Task, size: str) -> str | None:
        """Why this method does not apply to `task` at `size` (its model there), or None."""
        arch = task.size(size).model.arch
        if arch not in self.archs:
            return (
                f"method {self.name!r} applies to {' and '.join(self.archs)} models; task "
                f"{task.name!r} at the {size} size trains a {arch}"
            )
        return None


METHODS: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    METHODS[method.name] = method
    return method


GROKFAST = (
    "Lee, Kang, Kim, Kim, Park 2024, Grokfast: accelerated grokking by amplifying slow gradients"
)
PRIETO = "Prieto, Barsbey, Mediano, Birdal 2025, Grokking at the edge of numerical stability"

register_method(Method(
    "adamw", "AdamW wd 1 (matched baseline)",
    "Loshchilov & Hutter 2019; the recipe of Nanda et al. 2023",
    "decoupled weight decay 1 at the task's lr: Nanda et al.'s and Power et al.'s wd-1 runs",
    optim={"optimizer": "adamw"}, member={"weight_decay": 1.0},
))  # fmt: skip
register_method(Method(
    "adamw-lr3", "AdamW wd 1, lr x3 (fair-lr baseline)",
    "lucidrains/grokfast-pytorch issue #1 (the fair comparison is a higher lr)",
    "the matched baseline at 3x the task's lr, set before any run",
    optim={"optimizer": "adamw"}, member={"weight_decay": 1.0}, lr_scale=3.0,
))  # fmt: skip
register_method(Method(
    "adam", "Adam, wd 0",
    "Power et al. 2022 (their runs without weight decay)",
    "the task's lr and betas, no weight decay",
    optim={"optimizer": "adam"}, member={"weight_decay": 0.0},
))  # fmt: skip
register_method(Method(
    "grokfast-ema", "Grokfast-EMA (alpha 0.98, lamb 2), Adam + L2 0.005",
    GROKFAST,
    "the paper's modular-arithmetic settings: alpha 0.98, lamb 2, Adam with L2 weight decay 0.005",
    optim={"optimizer": "adam_l2", "transforms": ("grokfast_ema",)},
    member={"weight_decay": 0.005, "grokfast_ema_alpha": 0.98, "grokfast_ema_lamb": 2.0},
))  # fmt: skip
register_method(Method(
    "grokfast-ma", "Grokfast-MA (window 100, lamb 5), Adam + L2 0.01",
    GROKFAST,
    "the paper's modular-arithmetic settings: window 100, lamb 5, Adam with L2 weight decay 0.01",
    optim={"optimizer": "adam_l2", "transforms": ("grokfast_ma",), "grokfast_ma_window": 100},
    member={"weight_decay": 0.01, "grokfast_ma_lamb": 5.0},
))  # fmt: skip
register_method(Method(
    "orthograd", "⊥AdamW, wd 0",
    PRIETO,
    "the paper's ⊥AdamW: AdamW with the gradient's component along the weights removed, no "
    "weight decay, the task's lr",
    optim={"optimizer": "adamw", "transforms": ("orthograd",)}, member={"weight_decay": 0.0},
))  # fmt: skip
register_method(Method(
    "stablemax", "StableMax CE, AdamW wd 0",
    PRIETO,
    "the paper's StableMax cross-entropy with AdamW and no weight decay, the task's lr",
    optim={"optimizer": "adamw"}, member={"weight_decay": 0.0}, loss="stablemax",
))  # fmt: skip
register_method(Method(
    "stablemax-orthograd", "StableMax CE, ⊥AdamW wd 0",
    PRIETO,
    "the paper's two fixes together: StableMax loss and ⊥AdamW, no weight decay",
    optim={"optimizer": "adamw", "transforms": ("orthograd",)}, member={"weight_decay": 0.0},
    loss="stablemax",
))  # fmt: skip
register_method(Method(
    "muon", "Muon (hidden matrices, lr 0.02), wd 0.1",
    "Jordan et al. 2024, Muon; Tveit, Remseth, Skogvold 2025, Muon optimizer accelerates "
    "grokking",
    "torch.optim.Muon's defaults (lr 0.02, weight decay 0.1, momentum 0.95, Nesterov, 5 "
    "Newton-Schulz steps) on the hidden matrices; AdamW at the task's lr and the same weight "
    "decay on the others (weight decay 1 at lr 0.02 would shrink a matrix 2 % a step)",
    optim={"optimizer": "muon"}, member={"weight_decay": 0.1, "muon_lr": 0.02},
))  # fmt: skip
register_method(Method(
    "adamw-wd8", "AdamW wd 8 (large weight decay)",
    f"{PRIETO} (their weight-decay run)",
    "decoupled weight decay 8 at the task's lr, as Prieto et al.'s run with weight decay",
    optim={"optimizer": "adamw"}, member={"weight_decay": 8.0},
))  # fmt: skip
register_method(Method(
    "egd", "Egalitarian GD (U V^T), Adam + L2 0.005",
    "Pasand & Dohmatob 2026, Egalitarian gradient descent: a simple approach to accelerated "
    "grokking (ICLR)",
    "every weight matrix's gradient replaced by U V^T (transform egd), then Adam with L2 "
    "weight decay 0.005, the authors' settings in their comparison with Grokfast",
    optim={"optimizer": "adam_l2", "transforms": ("egd",)}, member={"weight_decay": 0.005},
))  # fmt: skip


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise GroklabError(f"method {name!r} is unknown; allowed: {', '.join(METHODS)}")
    return METHODS[name]
