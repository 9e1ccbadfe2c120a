"""The plug-ins a run names, each declared once with its knobs: the spec fields only it reads.

A plug-in is a gradient transform (`[optim] transforms`, train/transforms.py), an optimizer
(`[optim] optimizer`, train/optim.py) or an lr schedule (`[optim] schedule`, train/optim.py
`SCHEDULE_FACTORS`). Its code lives in train/; its declaration lives here, below the spec,
because the spec is made from it:

- the names `[optim] transforms`, `optimizer` and `schedule` accept (spec/sections.py
  `TRANSFORM_NAMES`, `OPTIMIZERS`, `SCHEDULES`), in the order declared;
- each knob is a field of `OptimSpec` ("optim": one value for the run) or `MemberSpec`
  ("members": one value per member, which a sweep may vary), after the section's own fields
  (spec/knobs.py `with_knobs`), checked against its range in the spec's one-line errors;
- a knob added after the first release (`late`) is left out of the canonical JSON at its
  default (spec/identity.py `LATE_FIELDS`), so every run stored before it keeps its id;
- `groklab train --help` shows its help after the plug-in's label (cli/flag_help.py):
  "grokfast_ema: EMA decay of the gradient filter", "optimizer=muon: momentum".

A new plug-in is one `PlugIn(...)` line in `PLUGINS` (with its knobs, if any) and its code in
train/. This module imports nothing of groklab, so it sits below every part that reads it.

Example, a transform with one per-member knob in [0, 1):
    >>> PlugIn("my_filter", "transform", (Knob("my_filter_decay", "members", float, 0.9,
    ...        "decay of my filter", lo=0.0, hi=1.0, open_hi=True),))
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("transform", "optimizer", "schedule")
KNOB_SECTIONS = ("optim", "members")


@dataclass(frozen=True)
class Knob:
    """One spec field a plug-in reads: its name (field, TOML key and flag), its section, type,
    default, allowed range ([lo, hi], either end open; hi None: no upper end; none for a bool)
    and one line of help."""

    name: str
    section: str  # "optim" or "members"
    type: type  # int, float or bool
    default: int | float | bool
    help: str
    lo: int | float = 0
    hi: int | float | None = None
    open_lo: bool = False
    open_hi: bool = False
    # added after the first release: left out of the canonical JSON at its default, so older
    # run ids stay (False only for a field that was in the spec from the start)
    late: bool = True

    def __post_init__(self) -> None:
        if self.section not in KNOB_SECTIONS:
            raise ValueError(f"knob {self.name}: section={self.section!r} is not optim or members")
        if self.type not in (int, float, bool) or type(self.default) is not self.type:
            raise ValueError(f"knob {self.name}: default {self.default!r} is not a {self.type}")


@dataclass(frozen=True)
class PlugIn:
    name: str  # as the spec names it: `transforms = ["grokfast_ema"]`, `optimizer = "muon"`
    kind: str  # one of KINDS
    knobs: tuple[Knob, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"plug-in {self.name}: kind={self.kind!r} is not one of {KINDS}")

    @property
    def label(self) -> str:
        """How the help names it: 'grokfast_ema', 'optimizer=muon', 'schedule=step'."""
        return self.name if self.kind == "transform" else f"{self.kind}={self.name}"


# one line per plug-in (with its knobs); transforms first, so that the members' knobs keep
# the order they had as fields written out in spec/sections.py
PLUGINS: dict[str, PlugIn] = {
    plugin.name: plugin
    for plugin in (
        PlugIn(
            "grokfast_ema",
            "transform",
            (
                Knob(
                    "grokfast_ema_alpha",
                    "members",
                    float,
                    0.98,
                    "EMA decay of the gradient filter",
                    lo=0.0,
                    hi=1.0,
                    open_hi=True,
                ),
                Knob(
                    "grokfast_ema_lamb",
                    "members",
                    float,
                    2.0,
                    "gain of the filtered gradient",
                    lo=0.0,
                ),
            ),
        ),
        PlugIn(
            "grokfast_ma",
            "transform",
            (
                Knob(
                    "grokfast_ma_window",
                    "optim",
                    int,
                    100,
                    "average the last this many gradients",
                    lo=1,
                    hi=100_000,
                ),
                Knob(
                    "grokfast_ma_lamb",
                    "members",
                    float,
                    5.0,
                    "gain of the filtered gradient",
                    lo=0.0,
                ),
            ),
        ),
        PlugIn("orthograd", "transform"),
        PlugIn("egd", "transform"),
        PlugIn("adamw", "optimizer"),
        PlugIn("adam", "optimizer"),
        PlugIn("adam_l2", "optimizer"),
        PlugIn(
            "sgd",
            "optimizer",
            (
                Knob(
                    "momentum",
                    "optim",
                    float,
                    0.0,
                    "momentum (0: none)",
                    lo=0.0,
                    hi=1.0,
                    open_hi=True,
                    late=False,
                ),
            ),
        ),
        PlugIn(
            "muon",
            "optimizer",
            (
                Knob(
                    "muon_momentum", "optim", float, 0.95, "momentum", lo=0.0, hi=1.0, open_hi=True
                ),
                Knob("muon_nesterov", "optim", bool, True, "Nesterov momentum (true/false)"),
                Knob("muon_ns_steps", "optim", int, 5, "Newton-Schulz iterations", lo=1, hi=99),
                Knob(
                    "muon_lr",
                    "members",
                    float,
                    0.02,
                    "lr of the 2-D hidden weights",
                    lo=0.0,
                    open_lo=True,
                ),
            ),
        ),
        PlugIn("constant", "schedule"),
        PlugIn("cosine", "schedule"),
        PlugIn(
            "step",
            "schedule",
            (
                Knob(
                    "step_every",
                    "optim",
                    int,
                    5000,
                    "multiply lr by step_factor every this many steps",
                    lo=1,
                ),
                Knob(
                    "step_factor", "optim", float, 0.2, "the factor", lo=0.0, hi=1.0, open_lo=True
                ),
            ),
        ),
    )
}


def plugin_names(kind: str) -> tuple[str, ...]:
    """The names of one kind, in the order declared: plugin_names("schedule") ->
    ('constant', 'cosine', 'step')."""
    return tuple(name for name, plugin in PLUGINS.items() if plugin.kind == kind)


def knobs(section: str) -> tuple[Knob, ...]:
    """Every knob of `section` ("optim" or "members"), in the order declared."""
    return tuple(k for plugin in PLUGINS.values() for k in plugin.knobs if k.section == section)
