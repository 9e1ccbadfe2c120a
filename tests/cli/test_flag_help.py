"""Every spec flag's help says what it does and lists its allowed values (cli/flag_help.py)."""

import re

from groklab.cli.flag_help import FIELD_HELP, field_choices, plug_in_help
from groklab.cli.main import build_parser
from groklab.config import field_types
from groklab.spec import MEMBER_FIELDS, SECTIONS, MemberSpec


def train_help() -> str:
    sub = build_parser()._subparsers._group_actions[0]
    return sub.choices["train"].format_help()


def flag_text(help_text: str, flag: str) -> str:
    """The help of one flag: from its line to the next flag's."""
    match = re.search(rf"^  {re.escape(flag)} [A-Z_]+\n?(.*?)(?=^  --|\Z)", help_text, re.S | re.M)
    assert match, flag
    return " ".join(match.group(1).split())


def test_every_spec_field_and_member_field_has_help_text_and_no_entry_is_stale():
    fields = {(section, name) for section, cls in SECTIONS.items() for name in field_types(cls)}
    fields |= {("members", name) for name in MEMBER_FIELDS}
    plug_ins = plug_in_help()  # the fields a transform or optimizer declares it reads
    assert not set(FIELD_HELP) & set(plug_ins)  # each field's help is in one place
    assert set(FIELD_HELP) | set(plug_ins) == fields
    assert all(len(text) > 10 for text in [*FIELD_HELP.values(), *plug_ins.values()])


def test_a_plug_ins_fields_are_named_after_it_in_train_help():
    text = train_help()
    assert flag_text(text, "--grokfast-ema-alpha").startswith("grokfast_ema: EMA decay")
    assert flag_text(text, "--grokfast-ma-window").startswith("grokfast_ma: average the last")
    assert flag_text(text, "--muon-lr").startswith("optimizer=muon: lr of the 2-D hidden")
    assert flag_text(text, "--momentum").startswith("optimizer=sgd: momentum")


def test_every_choice_field_lists_each_of_its_choices_in_train_help():
    text = train_help()
    for (_, name), choices in field_choices().items():
        shown = flag_text(text, f"--{name.replace('_', '-')}")
        assert f"one of: {', '.join(choices)}" in shown, name


def test_the_choices_listed_are_what_the_spec_accepts():
    from groklab.errors import SpecError
    from groklab.spec import OptimSpec

    for name in field_choices()[("optim", "optimizer")]:
        OptimSpec(optimizer=name)
    try:
        OptimSpec(optimizer="lion")
    except SpecError as e:
        assert all(name in str(e) for name in field_choices()[("optim", "optimizer")])
    else:
        raise AssertionError("lion was accepted")


def test_the_flags_a_new_user_asked_about_are_explained():
    text = train_help()
    assert "0: never stop early" in flag_text(text, "--stop-at-val-acc")
    assert "evaluations in a row" in flag_text(text, "--stop-patience")
    assert "messy part" in flag_text(text, "--messiness")
    assert "cap the pool" in flag_text(text, "--n-examples")
    assert "resume point every N steps" in flag_text(text, "--checkpoint-every")


def test_member_flags_show_their_default_and_no_flag_says_only_its_default():
    text = train_help()
    assert f"(default: {MemberSpec().weight_decay})" in flag_text(text, "--weight-decay")
    bare = re.findall(r"^  --[a-z-]+ [A-Z_]+\s+default: ", text, re.M)
    assert bare == []
