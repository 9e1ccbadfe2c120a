"""A backend is its own module plus one line in BACKENDS: its options' flags, [sweep] keys,
help and checks come from its entry (sweep/base.py), nowhere else."""

import pytest

from groklab.errors import SpecError
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.sweep import backend as backend_module
from groklab.sweep import load_sweep
from groklab.sweep.base import BackendEntry, BackendOption, positive_int

BASE = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=16, n_heads=2, d_mlp=32),
    train=TrainSpec(steps=10, eval_every=5),
    members=members_from(seed=0),
)
SWEEP_TOML = """
[data]
op = "add"
p = 7
[model]
n_layers = 1
d_model = 16
n_heads = 2
d_mlp = 32
[train]
steps = 10
eval_every = 5
[grid]
seed = [0, 1]
[sweep]
backend = "inline"
{extra}
"""


class InlineBackend:
    """A made-up backend: trains each population in this process, recording how it was made
    and what it was asked."""

    made: list[dict] = []

    def __init__(self, slots: int = 1, sinks=()) -> None:
        self.slots, self.sinks = slots, tuple(sinks)
        InlineBackend.made.append({"slots": slots, "sinks": len(self.sinks)})

    def run(self, specs, *, store_root, options, progress=None):
        InlineBackend.made[-1]["options"] = options
        with RunStore(store_root) as store:
            return [train(spec, store, options) for spec in specs]


INLINE = BackendEntry(
    "inline",
    InlineBackend,
    (BackendOption("slots", "--inline-slots", "populations at once", positive_int, int),),
)


@pytest.fixture
def inline(monkeypatch):
    InlineBackend.made = []
    monkeypatch.setitem(backend_module.BACKENDS, "inline", INLINE)
    return InlineBackend


def sweep_file(tmp_path, extra=""):
    path = tmp_path / "grid.toml"
    path.write_text(SWEEP_TOML.format(extra=extra))
    return path


def test_a_registered_backend_gets_its_flag_its_file_key_and_the_options(inline, run_cli, tmp_path):
    path = sweep_file(tmp_path, "slots = 1")
    store = tmp_path / "store"
    argv = ["sweep", str(path), "--store", str(store), "--inline-slots", "3"]
    code, out, err = run_cli([*argv, "--keep-checkpoints", "every:5", "--device", "cpu"])
    assert code == 0, err
    assert inline.made[-1]["slots"] == 3  # the flag beats the file's [sweep] slots = 1
    options = inline.made[-1]["options"]
    assert options.keep_checkpoints.text == "every:5" and str(options.device) == "cpu"
    with RunStore(store) as s:
        assert all(sorted(s.kept_checkpoints(r.run_id)) == [0, 5, 10] for r in s.list_runs())
    code, _, err = run_cli(["sweep", str(path), "--store", str(tmp_path / "s2")])
    assert code == 0 and inline.made[-1]["slots"] == 1  # the file's value where no flag


def test_a_registered_backends_option_is_checked_by_its_own_rule(inline, run_cli, tmp_path):
    code, _, err = run_cli(["sweep", str(sweep_file(tmp_path)), "--inline-slots", "0"])
    assert code == 2 and err.count("\n") == 1 and "--inline-slots 0 is not allowed" in err
    with pytest.raises(SpecError, match=r"\[sweep\] slots=0 is not allowed"):
        load_sweep(sweep_file(tmp_path, "slots = 0"))
    with pytest.raises(SpecError, match="unknown key 'sloths' in \\[sweep\\].*slots"):
        load_sweep(sweep_file(tmp_path, "sloths = 2"))
    with pytest.raises(SpecError, match="backend 'inline' takes no option 'workers'"):
        backend_module.get_backend("inline", workers=2)
    assert not inline.made  # nothing was built, nothing trained


def test_the_help_of_each_command_that_sweeps_lists_every_backends_options(inline):
    import argparse

    from groklab.cli.common import add_sweep_flags

    parser = argparse.ArgumentParser()
    add_sweep_flags(parser)
    text = parser.format_help()
    for entry in backend_module.BACKENDS.values():
        for option in entry.options:
            assert option.flag in text, option.flag
    assert "inline: populations at once" in text


def test_the_registry_holds_local_and_ray_with_their_historical_flags_and_keys():
    flags = {
        name: [(o.flag, o.sweep_key) for o in entry.options]
        for name, entry in backend_module.BACKENDS.items()
    }
    assert flags == {"local": [("--workers", "workers")], "ray": [("--ray-address", "ray_address")]}
