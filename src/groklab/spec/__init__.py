"""What to run, as frozen dataclasses that check themselves.

A `RunSpec` says everything that changes a run's numbers: the task, the model, the optimizer,
the training schedule and the population's members. Where it runs (device, store, checkpoint
interval) is not part of it, so the same spec has the same id on a laptop and on a cluster.

    checks.py    one-line validation of a field
    sections.py  DataSpec, ModelSpec, OptimSpec, InterventionSpec, TrainSpec, MemberSpec
    presets.py   the papers' model shapes by name
    identity.py  RunSpec, its canonical JSON and run id
    members.py   members from per-field lists, seed ranges

Example:
    >>> spec = RunSpec(members=members_from(seed=[0, 1], lr=1e-3))
    >>> spec.run_id            # 'r-' + 10 hex characters of the canonical JSON's hash
    >>> spec.n_members
    2
"""

from groklab.spec.identity import LATE_FIELDS, RunSpec, canonical_json
from groklab.spec.members import members_from, parse_seeds
from groklab.spec.presets import PRESET_LAYOUTS, PRESETS
from groklab.spec.sections import (
    ACTIVATIONS,
    ARCHS,
    BATCH_RULES,
    DATA_DEFAULTS,
    DATA_FIELDS,
    DECAY_TARGETS,
    DTYPES,
    INITS,
    LOSS_DTYPES,
    LOSSES,
    MAX_MEMBERS,
    MEMBER_FIELDS,
    MLP_INPUTS,
    NORMS,
    OPTIMIZERS,
    POSITIONS,
    SCHEDULES,
    SECTIONS,
    TRANSFORM_NAMES,
    DataSpec,
    InterventionSpec,
    MemberSpec,
    ModelSpec,
    OptimSpec,
    TrainSpec,
)

__all__ = [
    "ACTIVATIONS",
    "ARCHS",
    "BATCH_RULES",
    "DATA_DEFAULTS",
    "DATA_FIELDS",
    "DECAY_TARGETS",
    "DTYPES",
    "INITS",
    "LATE_FIELDS",
    "LOSSES",
    "LOSS_DTYPES",
    "MAX_MEMBERS",
    "MEMBER_FIELDS",
    "MLP_INPUTS",
    "NORMS",
    "OPTIMIZERS",
    "POSITIONS",
    "PRESETS",
    "PRESET_LAYOUTS",
    "SCHEDULES",
    "SECTIONS",
    "DataSpec",
    "InterventionSpec",
    "MemberSpec",
    "ModelSpec",
    "OptimSpec",
    "RunSpec",
    "TRANSFORM_NAMES",
    "TrainSpec",
    "canonical_json",
    "members_from",
    "parse_seeds",
]
