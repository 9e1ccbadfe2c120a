"""The benchmark's tasks: a registry of grokking problems, each at the size of its paper and
shrunk for a laptop.

A task is a data set, a model and the optimizer settings every method starts from (betas,
warm-up, the task's learning rate); a method (methods.py) changes the optimizer, the loss or the
gradient from there. Each size fixes the step budget and the evaluation interval; a run stops
once every seed holds 99 % validation accuracy, so a budget only costs where a method never gets
there.

`paper` is the paper's setup (the budget is ours where the paper trained until it grokked);
`quick` keeps the task and shrinks what it must so that every task x every method x 5 seeds
finishes in about 20 minutes on 2 CPU cores (`Task.shrunk` says what); `micro` is a smoke test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from groklab.errors import GroklabError
from groklab.spec import PRESETS, DataSpec, ModelSpec

SIZES = ("paper", "quick", "micro")


@dataclass(frozen=True)
class TaskSize:
    p: int  # the modulus (for s5_mul: ignored, the group has 120 elements)
    train_fraction: float
    model: ModelSpec
    batch_size: int | str
    steps: int  # the step budget
    eval_every: int
    lr: float  # the task's learning rate: the matched baseline's; methods scale it


@dataclass(frozen=True)
class Task:
    name: str
    title: str  # e.g. "x+y mod 113, 30 %, full batch, 1-layer transformer"
    paper: str  # citation of the setup
    op: str
    sizes: dict[str, TaskSize]
    layout: str = "x_op_y_eq"
    optim: dict = field(default_factory=dict)  # the task's OptimSpec settings (betas, warm-up)
    compute: str = ""  # the paper size's expected compute: every method to its budget, bounded

    def size(self, size: str) -> TaskSize:
        if size not in self.sizes:
            raise GroklabError(f"size {size!r} is unknown; allowed: {', '.join(self.sizes)}")
        return self.sizes[size]

    def data(self, size: str) -> DataSpec:
        return DataSpec(op=self.op, p=self.size(size).p, layout=self.layout)

    def shrunk(self, size: str) -> str:
        """What `size` changed from the paper's setup, in words ('' for the paper size)."""
        return "; ".join(_differences(self.size(size), self.sizes["paper"], self.op))


def _describe_model(model: ModelSpec) -> str:
    if model.arch == "mlp":
        inputs = "one-hot" if model.inputs == "onehot" else f"{model.d_model}-d embeddings"
        return f"MLP on {inputs}, {model.n_layers} x {model.d_mlp}"
    return f"{model.n_layers}-layer transformer d {model.d_model}, MLP {model.d_mlp}"


def _differences(size: TaskSize, paper: TaskSize, op: str) -> list[str]:
    said = []
    if size.p != paper.p and not op.startswith("s5"):
        said.append(f"p {size.p} (paper {paper.p})")
    if size.train_fraction != paper.train_fraction:
        said.append(f"train fraction {size.train_fraction:.0%} (paper {paper.train_fraction:.0%})")
    if size.model != paper.model:
        said.append(f"{_describe_model(size.model)} (paper {_describe_model(paper.model)})")
    if size.batch_size != paper.batch_size:
        said.append(f"batch {size.batch_size} (paper {paper.batch_size})")
    if size.lr != paper.lr:
        said.append(f"lr {size.lr:g} (paper {paper.lr:g})")
    if size.steps != paper.steps:
        said.append(f"budget {size.steps:,} steps (paper size {paper.steps:,})")
    return said


NANDA = PRESETS["nanda2023"]
POWER = PRESETS["power2022"]
PRIETO = PRESETS["prieto2025"]
SMALL_NANDA = replace(NANDA, d_model=64, d_mlp=256)
# Power et al.'s tasks at quick size train the MLP of experiments/common.py (embeddings of x
# and y concatenated, one hidden layer of 256): a 2-layer transformer on x/y mod 31 or S5 did not
# reach 99 % within 3,000 steps here, and costs 10x more per step.
QUICK_MLP = ModelSpec(arch="mlp", n_layers=1, d_model=64, d_mlp=256, mlp_bias=True)
MICRO_TRANSFORMER = replace(NANDA, d_model=16, n_heads=2, d_mlp=32)
# width 100: half the cost of 200 per step; AdamW wd 1 at 99 % by step 620 (median of 5 seeds)
NARROW_PRIETO = replace(PRIETO, d_mlp=100)
MICRO_MLP = replace(PRIETO, d_mlp=16)

TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if set(task.sizes) != set(SIZES):
        raise ValueError(f"task {task.name} must give the sizes {SIZES}; got {tuple(task.sizes)}")
    TASKS[task.name] = task
    return task


register_task(Task(
    name="nanda-add",
    title="x+y mod 113, 30 % of pairs, full batch, 1-layer transformer",
    paper="Nanda, Chan, Lieberum, Smith, Steinhardt 2023, Progress measures for grokking via "
          "mechanistic interpretability (ICLR)",
    op="add", layout="x_y_eq",
    optim={"beta1": 0.9, "beta2": 0.98, "warmup_steps": 10},
    compute="at most 120 CPU core-hours: 11 methods x 10 seeds x 40,000 steps at ~0.1 s per "
            "member-step (one thread, full batch of 3,831); methods that grok stop near 10,000",
    sizes={
        "paper": TaskSize(113, 0.3, NANDA, "full", 40_000, 50, 1e-3),
        "quick": TaskSize(59, 0.5, SMALL_NANDA, "full", 1_500, 25, 3e-3),
        "micro": TaskSize(11, 0.5, MICRO_TRANSFORMER, "full", 30, 10, 1e-2),
    },
))  # fmt: skip
register_task(Task(
    name="power-div",
    title="x/y mod 97, 50 % of pairs, batch 512, 2-layer transformer",
    paper="Power, Burda, Edwards, Babuschkin, Misra 2022, Grokking: generalization beyond "
          "overfitting on small algorithmic datasets",
    op="div",
    optim={"beta1": 0.9, "beta2": 0.98, "warmup_steps": 10},
    compute="at most 150 CPU core-hours: 11 methods x 10 seeds x 100,000 steps at ~0.05 s per "
            "member-step (batch 512); AdamW wd 1 stops near 5,000",
    sizes={
        "paper": TaskSize(97, 0.5, POWER, 512, 100_000, 100, 1e-3),
        "quick": TaskSize(31, 0.6, QUICK_MLP, "full", 2_000, 10, 1e-2),
        "micro": TaskSize(11, 0.5, MICRO_TRANSFORMER, 32, 30, 10, 1e-2),
    },
))  # fmt: skip
register_task(Task(
    name="s5",
    title="the S5 product x*y, 50 % of pairs, batch 512, 2-layer transformer",
    paper="Power et al. 2022 (S5 composition, Fig. 4)",
    op="s5_mul",
    optim={"beta1": 0.9, "beta2": 0.98, "warmup_steps": 10},
    compute="at most 150 CPU core-hours: 11 methods x 10 seeds x 100,000 steps at ~0.05 s per "
            "member-step (batch 512)",
    sizes={
        "paper": TaskSize(97, 0.5, POWER, 512, 100_000, 100, 1e-3),
        "quick": TaskSize(97, 0.5, QUICK_MLP, 512, 1_500, 25, 1e-2),
        "micro": TaskSize(97, 0.1, MICRO_TRANSFORMER, 64, 30, 10, 1e-2),
    },
))  # fmt: skip
register_task(Task(
    name="prieto-add",
    title="x+y mod 113, 40 % of pairs, full batch, one-hot MLP 200-200",
    paper="Prieto, Barsbey, Mediano, Birdal 2025, Grokking at the edge of numerical stability",
    op="add",
    optim={"beta1": 0.9, "beta2": 0.99, "warmup_steps": 0},
    compute="at most 45 CPU core-hours: 11 methods x 10 seeds x 20,000 steps at ~0.07 s per "
            "member-step (full batch of 5,107); ⊥AdamW stops near 150",
    sizes={
        "paper": TaskSize(113, 0.4, PRIETO, "full", 20_000, 10, 1e-2),
        "quick": TaskSize(113, 0.4, NARROW_PRIETO, "full", 800, 10, 1e-2),
        "micro": TaskSize(11, 0.5, MICRO_MLP, "full", 40, 10, 0.1),  # memorizes by step 30
    },
))  # fmt: skip


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise GroklabError(f"task {name!r} is unknown; allowed: {', '.join(TASKS)}")
    return TASKS[name]
