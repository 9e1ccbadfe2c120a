"""Checkpoints prove their content (issue 21 item 3): a flipped bit, a bound checkpoint with a
step outside the run's, a tensor of the wrong shape or a missing key is refused in one line
naming the file, exit 2, and the store is left as it was."""

import hashlib

import pytest
import torch

from groklab.store import RunStore
from groklab.store.checkpoint import bind, content_digest, load_run_checkpoint

from .test_checkpoint_binding import A, rows, run_id


def files(store) -> dict:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((store / "checkpoints").rglob("*.pt"))
    }


@pytest.fixture
def interrupted(run_cli, tmp_path, monkeypatch):
    """A store holding run A interrupted at step 12 (its resume point), as after a Ctrl-C."""
    import groklab.train.loop as loop

    store, step = tmp_path / "s", loop.train_step

    def interrupted_step(state, *args):
        if state.step + 1 == 13:
            raise KeyboardInterrupt
        return step(state, *args)

    with monkeypatch.context() as patch:
        patch.setattr(loop, "train_step", interrupted_step)
        status, _, err = run_cli(["train", *A, "--store", str(store)])
    assert status == 130, err
    return store, store / "checkpoints" / f"{run_id(A)}.pt"


def refused_and_unchanged(run_cli, store, path, *words) -> None:
    before = rows(store), files(store)
    status, _, err = run_cli(["train", *A, "--store", str(store)])
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err, err
    for word in words:
        assert word in err, (word, err)
    assert (rows(store), files(store)) == before


def test_a_flipped_bit_in_a_tensor_is_refused(run_cli, interrupted):
    store, path = interrupted
    flat = torch.load(path, weights_only=True)["flat"]
    blob = bytearray(path.read_bytes())
    at = blob.find(flat.numpy().tobytes()[:64])  # the weights' bytes in torch's zip file
    assert at > 0
    blob[at + 17] ^= 0x04  # one bit of one weight
    path.write_bytes(bytes(blob))
    refused_and_unchanged(run_cli, store, path, "damaged", "digest")


@pytest.mark.parametrize("step", [-5, 10**9], ids=["negative", "beyond-steps"])
def test_a_bound_checkpoint_with_a_step_outside_the_run_is_refused(run_cli, interrupted, step):
    store, path = interrupted
    saved = torch.load(path, weights_only=True)
    torch.save(bind({**saved, "step": step}, run_id(A)), path)  # a valid digest
    refused_and_unchanged(run_cli, store, path, f"step {step}", "0..20")


def test_a_tensor_of_the_wrong_shape_is_refused_naming_it(run_cli, interrupted):
    store, path = interrupted
    saved = torch.load(path, weights_only=True)
    torch.save(bind({**saved, "flat": saved["flat"][:, :-1]}, run_id(A)), path)
    refused_and_unchanged(run_cli, store, path, "flat is", str(list(saved["flat"].shape)))


@pytest.mark.parametrize("key", ["opt", "sampler", "hits"])
def test_a_missing_key_is_refused_naming_it(run_cli, interrupted, key):
    store, path = interrupted
    saved = torch.load(path, weights_only=True)
    del saved[key]
    torch.save(bind(saved, run_id(A)), path)
    refused_and_unchanged(run_cli, store, path, f"{key} is missing")


def test_the_untouched_checkpoint_resumes_and_finishes(run_cli, interrupted):
    store, path = interrupted
    load_run_checkpoint(path, run_id(A))  # its digest checks
    status, _, err = run_cli(["train", *A, "--store", str(store)])
    assert status == 0, err
    with RunStore(store) as s:
        assert s.get_run(run_id(A)).status == "done"


def test_the_digest_sees_every_bit_and_only_the_content():
    state = {"step": 3, "flat": torch.arange(6.0).reshape(2, 3), "gens": [torch.ByteTensor(4)]}
    same = {"gens": [state["gens"][0].clone()], "flat": state["flat"].clone(), "step": 3}
    assert content_digest(state) == content_digest(same)  # key order and copies do not count
    for bit in range(32):
        flipped = state["flat"].clone()
        flipped.view(torch.int32)[1, 2] ^= 1 << bit
        assert content_digest({**state, "flat": flipped}) != content_digest(state), bit
    assert content_digest({**state, "step": 4}) != content_digest(state)
    assert content_digest({**state, "flat": state["flat"].double()}) != content_digest(state)
    assert content_digest({**state, "flat": state["flat"].reshape(3, 2)}) != content_digest(state)
