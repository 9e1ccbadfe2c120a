"""Tests for src/groklab/report/fourier.py: the heat map says which basis it is drawn in."""

import pytest

from groklab.measures import MEASURES
from groklab.report.fourier import HEATMAP_MEASURES, basis_text
from groklab.spec import DataSpec, ModelSpec, RunSpec

TINY = ModelSpec(n_layers=1, d_model=8, n_heads=2, d_mlp=16)


@pytest.mark.parametrize(
    ("op", "p", "measure", "says"),
    [
        ("add", 7, "fourier_embed", "the additive group Z_p"),
        ("sub", 11, "fourier_embed", "the additive group Z_p"),
        (
            "div",
            7,
            "fourier_embed_mul",
            "multiplicative group Z_7^* indexed by discrete log base 3",
        ),
        ("mul", 11, "fourier_embed_mul", "multiplicative group Z_11^*"),
        ("s5_mul", 7, "fourier_embed_s5", "S5's irreducible representations"),
    ],
)
def test_the_heat_map_reads_the_one_measure_of_the_operations_group_and_names_its_basis(
    op, p, measure, says
):
    spec = RunSpec(data=DataSpec(op=op, p=p), model=TINY)
    assert [m for m in HEATMAP_MEASURES if MEASURES[m].applies(spec)] == [measure]
    text = basis_text(spec, 40)
    assert says in text and "at step 40" in text


def test_an_mlp_run_has_no_heat_map_measure():
    spec = RunSpec(data=DataSpec(op="add", p=7), model=ModelSpec(arch="mlp", n_layers=1))
    assert not any(MEASURES[m].applies(spec) for m in HEATMAP_MEASURES)
