"""A run trains to the same bits at any thread count and run to run (issue 13 item 2), in
every dtype the spec allows.

Each training runs in a fresh process, as a user's would: MKL fixes its reproducibility mode
at its first call, which groklab's import arranges (perf.py). The spec is the smallest that
differed at 1 and 2 threads before train/reduce.py: one member of a transformer with a
65,536-element weight trained with ⊥Grad, whose sums over a parameter torch split over threads.
In float64 it also differed after one step before perf.serial_blas: MKL's dgemm with a
transposed first operand follows the thread count even in strict mode.
"""

import json
import logging
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from groklab.run import train
from groklab.spec import DTYPES, DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.train import loop as loop_module

SPEC = RunSpec(
    data=DataSpec(op="add", p=11),
    model=ModelSpec(n_layers=1, d_model=128, n_heads=4, d_mlp=512),
    optim=OptimSpec(transforms=("orthograd",)),
    train=TrainSpec(steps=4, eval_every=2, batch_size="full"),
    members=members_from(seed=0, lr=1e-3, weight_decay=1.0, train_fraction=0.5),
)

# the smallest spec whose float32 products MKL's strict mode left thread-dependent ([12, 32] @
# [32, 16] at 1 and 2 threads, AVX-512 EPYC): README's one exception
TINY = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=6, eval_every=3, batch_size="full"),
    members=members_from(seed=0, train_fraction=0.5),
)

TRAIN_AT = """
import sys, torch, groklab
from groklab.config import spec_from_dict
from groklab.perf import blas_is_reproducible
from groklab.store import RunStore, load_checkpoint
from groklab.run import train
import json
spec = spec_from_dict(json.loads(sys.argv[1]))
for i, threads in enumerate(json.loads(sys.argv[2])):
    torch.set_num_threads(threads)
    store = RunStore(f"{sys.argv[3]}/{i}")
    train(spec, store)
    flat = load_checkpoint(store.checkpoint_path(spec.run_id))["flat"]
    torch.save(flat, f"{sys.argv[3]}/{i}.pt")
print(blas_is_reproducible())
"""


def in_dtype(dtype: str) -> RunSpec:
    return replace(SPEC, train=replace(SPEC.train, dtype=dtype))


def train_in_process(
    tmp_path, name: str, threads: list[int], spec: RunSpec = SPEC
) -> list[torch.Tensor]:
    from groklab.spec import canonical_json

    out = tmp_path / name
    out.mkdir()
    args = [canonical_json(spec), json.dumps(threads), str(out)]
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_AT, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] in ("True", "None")  # MKL strict, or a torch without MKL
    return [torch.load(out / f"{i}.pt") for i in range(len(threads))]


def flat_after_training(store: RunStore, spec: RunSpec = SPEC) -> torch.Tensor:
    train(spec, store)
    return load_checkpoint(store.checkpoint_path(spec.run_id))["flat"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_spec_at_1_and_2_threads_and_twice_at_2_trains_the_same_bits(tmp_path, dtype):
    spec, before = in_dtype(dtype), torch.get_num_threads()
    flats = []
    try:
        for i, threads in enumerate([1, 2, 2]):
            torch.set_num_threads(threads)
            flats.append(flat_after_training(RunStore(tmp_path / str(i)), spec))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(flats[0], flats[1]) and torch.equal(flats[1], flats[2])
    assert flats[0].dtype == (torch.float64 if dtype == "float64" else torch.float32)


def test_a_tiny_model_in_float32_differs_at_most_in_its_last_bits_and_in_float64_not_at_all(
    tmp_path,
):
    # float32 keeps its threaded products (perf.py): exact at one count, within rounding across
    # counts (equal too where this machine's MKL keeps them); float64 is exact across counts
    tiny64 = replace(TINY, train=replace(TINY.train, dtype="float64"))
    before, flats = torch.get_num_threads(), {}
    try:
        for name, spec, threads in [("a", TINY, 1), ("b", TINY, 1), ("c", TINY, 2)]:
            torch.set_num_threads(threads)
            flats[name] = flat_after_training(RunStore(tmp_path / name), spec)
        for name, threads in [("d", 1), ("e", 2)]:
            torch.set_num_threads(threads)
            flats[name] = flat_after_training(RunStore(tmp_path / name), tiny64)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(flats["a"], flats["b"])
    torch.testing.assert_close(flats["c"], flats["a"], rtol=1e-5, atol=1e-6)
    assert torch.equal(flats["d"], flats["e"])


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_bits_at_1_and_2_threads_in_fresh_processes_as_a_user_runs_them(tmp_path, dtype):
    spec = in_dtype(dtype)
    one, two, two_again = train_in_process(tmp_path, "a", [1, 2, 2], spec)
    (two_elsewhere,) = train_in_process(tmp_path, "b", [2], spec)  # another process
    assert torch.equal(one, two)
    assert torch.equal(two, two_again)
    assert torch.equal(two, two_elsewhere)
    assert not torch.equal(one, torch.zeros_like(one))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_resume_at_another_thread_count_equals_the_uninterrupted_run(tmp_path, train_until, dtype):
    spec, before = in_dtype(dtype), torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        whole = train(spec, RunStore(tmp_path / "whole"))
        resumed = RunStore(tmp_path / "resumed")
        train_until(spec, resumed, step=2)
        saved = load_checkpoint(resumed.checkpoint_path(spec.run_id))
        assert saved["threads"] == 1  # recorded with the run, not in its id
        torch.set_num_threads(2)
        again = train(spec, resumed)
    finally:
        torch.set_num_threads(before)
    flat = load_checkpoint(resumed.checkpoint_path(spec.run_id))["flat"]
    whole_flat = load_checkpoint(RunStore(tmp_path / "whole").checkpoint_path(spec.run_id))
    assert torch.equal(flat, whole_flat["flat"])
    for name in ("train_loss", "val_loss", "weight_norm"):
        assert (again.curves[name] == whole.curves[name]).all(), name


def test_resume_at_another_count_warns_in_one_line_only_without_reproducible_blas(
    monkeypatch, caplog
):
    import groklab.perf

    cpu = torch.device("cpu")
    now = torch.get_num_threads()
    monkeypatch.setattr(groklab.perf, "blas_is_reproducible", lambda: False)
    with caplog.at_level(logging.WARNING, logger=loop_module.log.name):
        loop_module._check_threads("r-0123456789", now + 1, cpu)
        loop_module._check_threads("r-0123456789", now, cpu)  # same count: silent
        loop_module._check_threads("r-0123456789", None, cpu)  # an older checkpoint: silent
    (record,) = caplog.records
    assert f"trained at {now + 1} threads and resumes at {now}" in record.getMessage()
    assert f"--threads {now + 1}" in record.getMessage() and "\n" not in record.getMessage()
    caplog.clear()
    monkeypatch.setattr(groklab.perf, "blas_is_reproducible", lambda: True)
    loop_module._check_threads("r-0123456789", now + 1, cpu)
    assert not caplog.records
