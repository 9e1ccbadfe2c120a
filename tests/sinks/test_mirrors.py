"""TensorBoard and W&B mirrors: they hold exactly what the store holds and change nothing."""

import glob
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.run import train
from groklab.sinks import TensorBoardSink, WandbSink
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore


def small_spec():
    return RunSpec(
        data=DataSpec(op="add", p=7),
        model=ModelSpec(n_layers=1, d_model=32, n_heads=4, d_mlp=64),
        train=TrainSpec(steps=20, eval_every=10),
        members=members_from(seed=[0, 1], train_fraction=0.6, weight_noise=0.01),
    )


def tensorboard_scalars(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def wandb_history(directory):
    """The history rows of the one offline W&B run under `directory` (its .wandb log file:
    7-byte header, then 32 KiB blocks of records, each a 7-byte header and a protobuf)."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = glob.glob(f"{directory}/wandb/offline-run-*/run-*.wandb")
    data, pos, chunk, rows = Path(path).read_bytes(), 7, b"", []
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        chunk, pos = chunk + data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(chunk)
            chunk = b""
            if record.WhichOneof("record_type") == "history":
                items = record.history.item
                rows.append(
                    {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}
                )
    return rows


def test_tensorboard_event_files_hold_each_members_stored_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    result = train(small_spec(), RunStore(tmp_path / "s"), sinks=[TensorBoardSink(tmp_path / "tb")])
    scalars = tensorboard_scalars(tmp_path / "tb" / result.run_id)
    steps = result.curves["step"].tolist()
    for i in range(2):
        for name in ("val_acc", "train_loss", "weight_norm"):
            logged = scalars[f"member{i}/{name}"]
            assert [s for s, _ in logged] == steps
            np.testing.assert_allclose([v for _, v in logged], result.curves[name][i], rtol=1e-6)
    assert "member1/norm/W_E" in scalars


def test_wandb_offline_run_history_holds_each_members_stored_metrics(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    import wandb

    result = train(
        small_spec(), RunStore(tmp_path / "s"), sinks=[WandbSink("test", directory=tmp_path)]
    )
    # W&B writes through its own service process: run.finish() returns before the run's file
    # is flushed (it was still its 7-byte header in about 1 read in 3 under load); teardown
    # stops the service once everything is written, as it does at exit
    wandb.teardown()
    rows = wandb_history(tmp_path)
    assert [r["step"] for r in rows] == result.curves["step"].tolist()
    for i in range(2):
        logged = [r[f"member{i}/val_acc"] for r in rows]
        np.testing.assert_array_equal(logged, result.curves["val_acc"][i])


def test_a_run_with_mirrors_has_bit_identical_curves_to_one_without(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    plain = train(small_spec(), RunStore(tmp_path / "a"))
    mirrors = [TensorBoardSink(tmp_path / "tb"), WandbSink("test", directory=tmp_path / "wb")]
    mirrored = train(small_spec(), RunStore(tmp_path / "b"), sinks=mirrors)
    for name, values in plain.curves.items():
        assert np.array_equal(values, mirrored.curves[name], equal_nan=True), name


def test_a_mirror_directory_that_cannot_be_created_is_one_line_naming_it(tmp_path):
    pytest.importorskip("tensorboard")
    (tmp_path / "file").write_text("")
    with pytest.raises(GroklabError, match="--tensorboard .*file/tb.* cannot be created"):
        TensorBoardSink(tmp_path / "file" / "tb")


def test_a_missing_extra_is_one_line_naming_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name in ("wandb", "torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    with pytest.raises(GroklabError, match=r"groklab\[tensorboard\]"):
        TensorBoardSink("tb")
    with pytest.raises(GroklabError, match=r"groklab\[wandb\]"):
        WandbSink("project")
