"""Each plug-in declares its knobs once (groklab/plugins.py); the spec's fields, their checks,
the canonical JSON's late fields and the flags' help all follow from the declarations."""

import json
import subprocess
import sys
from dataclasses import fields

import pytest

from groklab.cli.flag_help import FIELD_HELP, plug_in_help
from groklab.errors import SpecError
from groklab.plugins import KINDS, PLUGINS, Knob, PlugIn, knobs, plugin_names
from groklab.spec import (
    LATE_FIELDS,
    OPTIMIZERS,
    SCHEDULES,
    TRANSFORM_NAMES,
    MemberSpec,
    OptimSpec,
    RunSpec,
)
from groklab.spec.knobs import check_knob

SPECS = {"optim": OptimSpec, "members": MemberSpec}


def every_knob():
    return [knob for section in SPECS for knob in knobs(section)]


def owner(knob: Knob) -> PlugIn:
    return next(p for p in PLUGINS.values() if knob in p.knobs)


def test_every_knob_is_a_field_of_its_section_with_its_type_and_default():
    for knob in every_knob():
        spec = SPECS[knob.section]
        field = {f.name: f for f in fields(spec)}[knob.name]
        assert field.type == knob.type.__name__, knob.name
        value = getattr(spec(), knob.name)
        assert value == knob.default and type(value) is knob.type, knob.name


def test_every_late_knob_and_no_other_is_left_out_of_the_canonical_json():
    for section in SPECS:
        late = set(LATE_FIELDS[section])
        for knob in knobs(section):
            assert (knob.name in late) == knob.late, knob.name
    assert [k.name for k in every_knob() if not k.late] == ["momentum"]  # there from the start


def test_every_knob_has_its_help_after_its_plug_ins_label_and_only_there():
    helps = plug_in_help()
    for knob in every_knob():
        key = (knob.section, knob.name)
        assert helps[key] == f"{owner(knob).label}: {knob.help}"
        assert key not in FIELD_HELP
    assert helps[("optim", "step_every")].startswith("schedule=step: multiply lr")
    assert helps[("members", "muon_lr")].startswith("optimizer=muon: lr of the 2-D")


def test_the_spec_accepts_the_declared_names_of_each_kind_in_their_old_order():
    assert set(KINDS) == {p.kind for p in PLUGINS.values()}
    assert plugin_names("transform") == TRANSFORM_NAMES
    assert plugin_names("optimizer") == OPTIMIZERS
    assert plugin_names("schedule") == SCHEDULES
    # the order the error messages and the help list them in, as before the declarations
    assert TRANSFORM_NAMES[:4] == ("grokfast_ema", "grokfast_ma", "orthograd", "egd")
    assert OPTIMIZERS[:5] == ("adamw", "adam", "adam_l2", "sgd", "muon")
    assert SCHEDULES[:3] == ("constant", "cosine", "step")


def test_knob_names_are_distinct():
    names = [k.name for k in every_knob()]
    assert len(names) == len(set(names))


def test_each_knobs_default_passes_its_check_and_values_past_its_ends_fail():
    for knob in every_knob():
        check_knob(knob, knob.default)
        bad = ["x", None] if knob.type is bool else [knob.lo - 1, True, "x"]
        if knob.open_lo:
            bad.append(knob.lo)
        if knob.hi is not None:
            bad.append(knob.hi + 1)
        for value in bad:
            with pytest.raises(SpecError, match=rf"^{knob.name}=") as e:
                SPECS[knob.section](**{knob.name: value})
            assert "\n" not in str(e.value)


def test_knob_checks_keep_their_messages():
    with pytest.raises(SpecError, match=r"^grokfast_ema_alpha=1.0 is out of range; allowed: \["):
        MemberSpec(grokfast_ema_alpha=1.0)
    with pytest.raises(SpecError, match=r"^muon_nesterov=1 is not true or false$"):
        OptimSpec(muon_nesterov=1)
    with pytest.raises(
        SpecError, match=r"^grokfast_ma_window=0 is out of range; allowed: in \[1, "
    ):
        OptimSpec(grokfast_ma_window=0)
    with pytest.raises(
        SpecError, match=r"^step_factor=0.0 is out of range; allowed: \(0.0, 1.0\]$"
    ):
        OptimSpec(step_factor=0.0)


# A made-up transform with one per-member knob, declared before the spec is imported (its
# fields are made then), as a new plug-in's one line in PLUGINS would declare it.
MADE_UP = """
import json
from groklab.plugins import PLUGINS, Knob, PlugIn

PLUGINS["toy_gain"] = PlugIn(
    "toy_gain", "transform",
    (Knob("toy_gain_level", "members", float, 1.5, "gain of the toy filter", lo=0.0, hi=2.0),),
)
from groklab.cli.main import build_parser
from groklab.config import spec_from_dict
from groklab.errors import SpecError
from groklab.spec import LATE_FIELDS, MemberSpec, OptimSpec, RunSpec, canonical_json

try:
    MemberSpec(toy_gain_level=3.0)
    error = ""
except SpecError as e:
    error = str(e)
train = build_parser()._subparsers._group_actions[0].choices["train"]
swept = spec_from_dict({"members": {"seed": [0, 1], "toy_gain_level": [0.5, 1.0]}})
print(json.dumps({
    "plain_id": RunSpec().run_id,
    "transforms": OptimSpec(transforms="toy_gain").transforms,
    "set_json": canonical_json(RunSpec(members=(MemberSpec(toy_gain_level=0.5),))),
    "error": error,
    "late": "toy_gain_level" in LATE_FIELDS["members"],
    "help": " ".join(train.format_help().split()),
    "swept": [m.toy_gain_level for m in swept.members],
}))
"""


def test_a_made_up_plug_in_gets_its_field_check_late_entry_help_and_sweep_values():
    out = subprocess.run(
        [sys.executable, "-c", MADE_UP], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got["plain_id"] == RunSpec().run_id  # at its default the knob moves no run id
    assert got["late"]
    assert '"toy_gain_level":0.5' in got["set_json"]
    assert got["error"] == "toy_gain_level=3.0 is out of range; allowed: [0.0, 2.0]"
    assert "--toy-gain-level TOY_GAIN_LEVEL toy_gain: gain of the toy filter" in got["help"]
    assert "(default: 1.5)" in got["help"]
    assert got["swept"] == [0.5, 1.0]
    assert got["transforms"] == ["toy_gain"]  # a name `[optim] transforms` accepts


def test_a_declaration_with_a_bad_kind_section_or_default_is_refused():
    with pytest.raises(ValueError, match="kind='scheduler'"):
        PlugIn("warm", "scheduler")
    with pytest.raises(ValueError, match="section='model'"):
        Knob("toy_width", "model", int, 4, "width of the toy")
    with pytest.raises(ValueError, match="default 2 is not a <class 'float'>"):
        Knob("toy_gain", "members", float, 2, "gain of the toy")  # 2.0: a float knob
