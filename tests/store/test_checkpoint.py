import pytest
import torch

from groklab.errors import GroklabError
from groklab.store import load_checkpoint, save_atomic


def plain_state() -> dict:
    gen = torch.Generator().manual_seed(3)
    return {
        "params": {"W_E": torch.randn(3, 5, 4), "b": torch.zeros(3, dtype=torch.float64)},
        "step": 120,
        "lr": 1e-3,
        "op": "add",
        "seeds": [0, 1, 2],
        "shape": (3, 4),
        "done": False,
        "note": None,
        "rng": gen.get_state(),
    }


def test_saved_state_loads_back_equal_including_generator_state(tmp_path):
    state = plain_state()
    save_atomic(state, tmp_path / "r.pt")
    loaded = load_checkpoint(tmp_path / "r.pt")
    assert torch.equal(loaded["params"]["W_E"], state["params"]["W_E"])
    assert {k: loaded[k] for k in ("step", "lr", "op", "seeds", "shape", "done", "note")} == {
        k: state[k] for k in ("step", "lr", "op", "seeds", "shape", "done", "note")
    }
    restored = torch.Generator().set_state(loaded["rng"])
    assert torch.equal(
        torch.rand(4, generator=restored), torch.rand(4, generator=torch.Generator().manual_seed(3))
    )


def test_crash_mid_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "r.pt"
    save_atomic({"step": 1}, path)

    def exploding_save(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", exploding_save)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({"step": 2}, path)
    assert load_checkpoint(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.pt"]


def test_save_into_missing_directory_names_it(tmp_path):
    with pytest.raises(GroklabError, match=f"directory {tmp_path / 'nope'} does not exist"):
        save_atomic({}, tmp_path / "nope" / "r.pt")


def test_missing_checkpoint_is_one_line_error(tmp_path):
    with pytest.raises(GroklabError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


@pytest.mark.parametrize("content", [b"", b"garbage", "truncate"])
def test_corrupt_checkpoint_is_one_line_error(tmp_path, content):
    path = tmp_path / "r.pt"
    save_atomic(plain_state(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if content == "truncate" else content)
    with pytest.raises(GroklabError, match="is corrupt") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)


def test_checkpoint_holding_arbitrary_objects_is_refused_without_unpickling_them(tmp_path):
    path = tmp_path / "r.pt"
    torch.save({"when": __import__("datetime").date(2024, 1, 1)}, path)
    with pytest.raises(
        GroklabError, match="holds a datetime.date; checkpoints may hold only"
    ) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)


def test_bound_checkpoint_loads_for_its_run_and_is_refused_for_another(tmp_path):
    from groklab.store import CHECKPOINT_FORMAT, bind, load_run_checkpoint

    path = tmp_path / "r.pt"
    save_atomic(bind({"step": 3, "flat": torch.zeros(2, 5)}, "r-aaaaaaaaaa"), path)
    loaded = load_run_checkpoint(path, "r-aaaaaaaaaa")
    assert loaded["run_id"] == "r-aaaaaaaaaa" and loaded["format"] == CHECKPOINT_FORMAT
    assert torch.equal(loaded["flat"], torch.zeros(2, 5))
    with pytest.raises(GroklabError) as e:
        load_run_checkpoint(path, "r-bbbbbbbbbb")
    assert str(e.value) == (
        f"checkpoint {path} is of run 'r-aaaaaaaaaa'; expected run r-bbbbbbbbbb "
        "(a checkpoint of another spec): remove it from there"
    )


@pytest.mark.parametrize(
    "saved, says",
    [
        ({"step": 3}, "names no run"),
        ({"step": 3, "run_id": "r-aaaaaaaaaa", "format": 99}, "has format 99"),
        ([1, 2], "is not a groklab checkpoint"),
    ],
)
def test_unbound_or_other_format_checkpoint_is_one_line_naming_the_file(tmp_path, saved, says):
    from groklab.store import load_run_checkpoint

    path = tmp_path / "r.pt"
    save_atomic(saved, path)
    with pytest.raises(GroklabError, match=says) as e:
        load_run_checkpoint(path, "r-aaaaaaaaaa", mmap=True)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
