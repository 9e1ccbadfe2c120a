"""The trainer on a CUDA device, where one is present (skipped elsewhere; benchmarks/gpu_check.sh
runs this module first): a tiny run memorizes, a resumed run equals an uninterrupted one bit
for bit, a population equals its members trained alone, and CUDA agrees with the CPU."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore, load_checkpoint
from groklab.train import TrainingInterrupted, TrainOptions

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")

CUDA = TrainOptions(device="cuda")
SPEC = RunSpec(
    data=DataSpec(op="add", p=13),
    model=ModelSpec(n_layers=1, d_model=32, n_heads=4, d_mlp=64),
    train=TrainSpec(steps=300, eval_every=25, batch_size="full"),
    members=members_from(seed=[0, 1, 2], lr=3e-3, weight_decay=[0.0, 0.5, 1.0], dropout=0.1),
)


def test_a_tiny_cuda_run_memorizes(tmp_path):
    result = train(SPEC, RunStore(tmp_path), CUDA)
    assert (result.curves["train_acc"][:, -1] >= 0.99).all()


def test_a_resumed_cuda_run_equals_an_uninterrupted_one_bit_for_bit(tmp_path):
    straight = train(SPEC, RunStore(tmp_path / "a"), CUDA)

    def stop_at_100(event):
        if event.step == 100:
            raise KeyboardInterrupt

    store = RunStore(tmp_path / "b")
    with pytest.raises(TrainingInterrupted):
        train(SPEC, store, CUDA, progress=stop_at_100)
    resumed = train(SPEC, store, CUDA)
    a = load_checkpoint(RunStore(tmp_path / "a").checkpoint_path(SPEC.run_id))
    b = load_checkpoint(store.checkpoint_path(SPEC.run_id))
    assert torch.equal(a["flat"], b["flat"])
    for name, values in straight.curves.items():
        assert np.array_equal(values, resumed.curves[name], equal_nan=True), name


def test_a_cuda_population_equals_its_members_trained_alone(tmp_path):
    together = train(SPEC, RunStore(tmp_path / "pop"), CUDA)
    for i, member in enumerate(SPEC.members):
        alone = train(replace(SPEC, members=(member,)), RunStore(tmp_path / f"m{i}"), CUDA)
        np.testing.assert_allclose(
            together.curves["train_loss"][i], alone.curves["train_loss"][0], rtol=1e-4, atol=1e-5
        )


def test_cuda_and_cpu_agree_to_float_rounding(tmp_path):
    short = replace(SPEC, train=replace(SPEC.train, steps=50))
    gpu = train(short, RunStore(tmp_path / "g"), CUDA)
    cpu = train(short, RunStore(tmp_path / "c"), TrainOptions(device="cpu"))
    np.testing.assert_allclose(gpu.curves["train_loss"], cpu.curves["train_loss"], rtol=1e-3)
