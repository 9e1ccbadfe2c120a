"""A run spec and its identity: the canonical JSON and the run id derived from it.

A `RunSpec` says everything that changes a run's numbers: the task, the model, the optimizer,
the training schedule and the population's members. Where it runs (device, store, checkpoint
interval) is not part of it, so the same spec has the same id on a laptop and on a cluster.

Example:
    >>> spec = RunSpec(members=members_from(seed=[0, 1], lr=1e-3))
    >>> spec.run_id            # 'r-' + 10 hex characters of the canonical JSON's hash
    >>> spec.n_members
    2
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from groklab.errors import SpecError
from groklab.spec.knobs import late_knobs
from groklab.spec.sections import (
    SECTIONS,
    DataSpec,
    InterventionSpec,
    MemberSpec,
    ModelSpec,
    OptimSpec,
    TrainSpec,
)


@dataclass(frozen=True)
class RunSpec:
    """One population: N members of one shape trained in lock-step."""

    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    interventions: InterventionSpec = field(default_factory=InterventionSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    members: tuple[MemberSpec, ...] = (MemberSpec(),)

    def __post_init__(self) -> None:
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise SpecError(f"{name}={getattr(self, name)!r} is not a {cls.__name__}")
        object.__setattr__(self, "members", tuple(self.members))
        if not self.members:
            raise SpecError("members=() is empty; a run needs at least one member")
        for m in self.members:
            if not isinstance(m, MemberSpec):
                raise SpecError(f"member {m!r} is not a MemberSpec; use members_from")
        if self.data.layout != "x_op_y_eq" and self.model.arch == "mlp":
            # TableMLP reads the operands at positions 0 and 2 of `x op y =`
            raise SpecError(
                f"layout={self.data.layout!r} is for sequence models; arch='mlp' reads "
                "layout='x_op_y_eq'"
            )

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def run_id(self) -> str:
        return "r-" + hashlib.sha256(canonical_json(self).encode()).hexdigest()[:10]

    @property
    def shape_key(self) -> str:
        """Everything but the members: runs with the same key can share one population."""
        return canonical_json(replace(self, members=(MemberSpec(),)))

    def summary(self) -> str:
        d, m, t = self.data, self.model, self.train
        seeds = ",".join(str(x.seed) for x in self.members[:4]) + (
            ",..." if self.n_members > 4 else ""
        )
        task = f"{d.op} p={d.p}" if d.dataset == "table" else d.dataset
        width = m.d_model if m.arch == "transformer" else m.d_mlp
        return (
            f"{task} {m.arch}{m.n_layers}x{width} {self.optim.optimizer} "
            f"steps={t.steps} seeds={seeds}"
        )


# Fields added after the first release: left out of the canonical JSON while at their default,
# so every run stored before they existed keeps its id (and resumes). The plug-ins' knobs are
# added from their declarations (groklab/plugins.py: every knob but SGD's momentum).
_LATE_OWN_FIELDS: dict[str, tuple[str, ...]] = {
    "data": (
        "dataset",
        "n_examples",
        "messiness",
        "seq_len",
        "n_words",
        "source",
        "data_seed",
        "layout",
    ),
    "model": ("inputs", "leaky_slope"),
    "optim": (
        "grad_clip",
        "transforms",
        "group_lr",
        "group_weight_decay",
    ),
    "train": ("loss",),
    "members": ("n_train",),
}
LATE_FIELDS: dict[str, tuple[str, ...]] = {
    section: (*names, *late_knobs(section)) if section in ("optim", "members") else names
    for section, names in _LATE_OWN_FIELDS.items()
}


def canonical_json(spec: RunSpec) -> str:
    """Sorted keys, no spaces, floats as repr: equal specs give equal strings (and ids)."""
    d = asdict(spec)
    for section, names in LATE_FIELDS.items():
        rows = d[section] if section == "members" else [d[section]]
        defaults = asdict(MemberSpec() if section == "members" else SECTIONS[section]())
        for row in rows:
            for name in names:
                if row[name] == defaults[name]:
                    del row[name]
    return json.dumps(d, sort_keys=True, separators=(",", ":"))
