"""Tests for src/groklab/measures/__init__.py: every entry's family and the value names it stores
(the report groups stored values by them)."""

from dataclasses import replace
from functools import partial

import pytest
import torch

from groklab.loader import build_member, member_task
from groklab.measures import FAMILIES, MEASURES, measure_of
from groklab.measures.llc import SGLDSpec
from groklab.spec import DataSpec, ModelSpec, RunSpec, members_from
from groklab.train.state import init_state, make_task

TINY = ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=16)
RUNS = [  # between them, every measure applies to one of these
    RunSpec(data=DataSpec(op="add", p=7), model=TINY),
    RunSpec(data=DataSpec(op="mul", p=7), model=TINY),
    RunSpec(data=DataSpec(op="s5_mul"), model=TINY),
    RunSpec(
        data=DataSpec(dataset="toy_add", p=10), model=ModelSpec(arch="mlp", n_layers=1, d_mlp=8)
    ),
]


def returned_names(info, spec: RunSpec) -> set[str]:
    """The value names `info.fn` returns for member 0 of `spec` at its initial weights."""
    spec = replace(spec, members=members_from(seed=[0]))
    task = make_task(spec, torch.device("cpu"))
    model = build_member(spec, task, init_state(spec, task, torch.device("cpu")).population.flat[0])
    view = member_task(task, spec, spec.run_id, 0, 0)
    fn = info.fn
    if info.name == "llc":  # a few draws: only the names matter here
        fn = partial(fn, sampler=SGLDSpec(chains=2, draws=2, burn_in=0))
    return set(fn(model, view, model) if info.final else fn(model, view))


@pytest.mark.parametrize("name", list(MEASURES))
def test_a_measure_stores_exactly_the_value_names_it_declares(name):
    info = MEASURES[name]
    spec = next(s for s in RUNS if info.applies(s))
    names = returned_names(info, spec)
    assert names and all(info.has_value(n) for n in names), sorted(names)
    for pattern in info.stores:  # no declared name or prefix is left unused
        assert any(n == pattern or (pattern.endswith("/") and n.startswith(pattern)) for n in names)
    assert info.family in FAMILIES
    # the name maps back to a measure of the same family (sum_sq_weights: three share it)
    assert all(measure_of(n).family == info.family for n in names)


def test_measure_of_finds_the_measure_behind_a_stored_name_and_none_for_others():
    assert measure_of("fourier/embed/3").name == "fourier_embed"
    assert measure_of("fourier/neurons/2").name == "key_frequencies"
    assert measure_of("excluded_loss_final_keys").name == "restricted_loss"  # the paper's
    assert measure_of("restricted_loss_step_keys").name == "restricted_loss_step_keys"
    # an earlier release stored the per-step variant under the bare names
    assert measure_of("restricted_loss").name == "restricted_loss_step_keys"
    assert measure_of("excluded_loss").name == "restricted_loss_step_keys"
    assert measure_of("llc_rhat").name == "llc"
    assert measure_of("attn_entropy_std/blocks.0.attn").name == "attn_entropy"
    for other in ("val_acc", "norm/W_E", "probe/margin", "fourier", "llc_trace"):
        assert measure_of(other) is None
