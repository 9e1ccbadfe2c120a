"""The plug-ins' knobs as spec fields (spec/knobs.py): added after a section's own, checked."""

from dataclasses import dataclass, fields

import pytest

from groklab.errors import SpecError
from groklab.plugins import knobs
from groklab.spec.knobs import check_knobs, late_knobs, with_knobs


def test_with_knobs_adds_the_sections_knobs_after_the_classs_own_fields():
    @dataclass(frozen=True)
    @with_knobs("members")
    class Members:
        seed: int = 0

    names = [f.name for f in fields(Members)]
    assert names == ["seed", *(k.name for k in knobs("members"))]
    assert Members().grokfast_ema_lamb == 2.0


def test_with_knobs_refuses_a_knob_that_is_also_a_field_of_the_class():
    with pytest.raises(TypeError, match="muon_lr"):

        @dataclass(frozen=True)
        @with_knobs("members")
        class Members:
            muon_lr: float = 0.1


def test_check_knobs_names_the_bad_knob_in_one_line():
    @dataclass(frozen=True)
    @with_knobs("optim")
    class Optim:
        def __post_init__(self) -> None:
            check_knobs(self, "optim")

    with pytest.raises(
        SpecError, match=r"^muon_ns_steps=0 is out of range; allowed: in \[1, 99\]$"
    ):
        Optim(muon_ns_steps=0)


def test_late_knobs_are_the_declared_late_ones():
    assert late_knobs("members") == tuple(k.name for k in knobs("members"))
    assert "momentum" not in late_knobs("optim")
    assert "muon_momentum" in late_knobs("optim")
