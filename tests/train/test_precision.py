"""`--dtype auto`: fast-bf16 detection, the choice, the line that says it and the run id."""

import pytest
import torch

from groklab.train import precision
from groklab.train.precision import cpu_flags, fast_bf16, resolve_dtype

CPU = torch.device("cpu")
AVX2 = {"fpu", "sse2", "avx2", "fma"}
AMX = AVX2 | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}


def test_cpu_flags_reads_the_flags_line_of_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_fast_bf16_needs_amx_or_avx512_bf16_on_a_cpu():
    assert fast_bf16(CPU, AVX2) is None
    assert fast_bf16(CPU, AVX2 | {"avx512f"}) is None  # AVX-512 without BF16 is not enough
    assert fast_bf16(CPU, AVX2 | {"avx512_bf16"}) == "avx512_bf16"
    assert fast_bf16(CPU, AMX) == "amx_bf16"


def test_auto_is_float32_without_fast_bf16_and_until_the_grokking_check_passed():
    assert resolve_dtype("auto", CPU, flags=AVX2) == ("float32", "auto: no fast bf16")
    dtype, why = resolve_dtype("auto", CPU, flags=AMX, checked={"cpu": False})
    assert (dtype, why) == ("float32", "auto: fast bf16 (amx_bf16), grokking check not yet passed")
    assert resolve_dtype("auto", CPU, flags=AMX, checked={"cpu": True})[0] == "bf16"
    assert resolve_dtype("auto", CPU, flags=AVX2, checked={"cpu": True})[0] == "float32"


def test_the_check_passed_on_a_fast_bf16_cpu_only_so_auto_picks_bf16_there_alone():
    # An entry flips only with bench_precision.py's numbers in benchmarks/RESULTS.md (§20).
    assert precision.GROKKING_CHECKED == {"cpu": True, "cuda": False}
    assert resolve_dtype("auto", CPU, flags=AMX) == (
        "bf16",
        "auto: fast bf16 (amx_bf16), grokking check passed",
    )
    assert resolve_dtype("auto", CPU, flags=AVX2)[0] == "float32"  # bf16 is slow there


@pytest.mark.parametrize("dtype", ["float32", "bf16", "float64"])
def test_an_explicit_dtype_is_kept_as_given(dtype):
    assert resolve_dtype(dtype, CPU, flags=AMX, checked={"cpu": True}) == (dtype, "as requested")
