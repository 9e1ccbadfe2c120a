import pytest

from groklab.measures.run import measure_run
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore

# A run small enough to train in a second or two: add mod 7, two members.
SPEC = RunSpec(
    data=DataSpec(op="add", p=7),
    model=ModelSpec(n_layers=1, d_model=8, n_heads=2, d_mlp=16),
    train=TrainSpec(steps=20, eval_every=5),
    members=members_from(seed=[0, 1], lr=3e-3, train_fraction=[0.5, 0.7]),
)
MEASURE = "probe/answer_margin"  # a measure of the kind `groklab measure` stores later


STORED = ["fourier_embed", "eff_rank"]  # what `groklab measure` has added to SPEC's run


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory):
    """A store holding SPEC trained, MEASURE written at two steps (values per member), and the
    measures STORED at its latest state."""
    root = tmp_path_factory.mktemp("report-store")
    with RunStore(root) as store:
        train(SPEC, store)
        store.write_metrics(SPEC.run_id, 10, {MEASURE: [0.25, 0.5]})
        store.write_metrics(SPEC.run_id, 20, {MEASURE: [0.75, 1.5]})
        measure_run(store, SPEC.run_id, STORED)
    return root


@pytest.fixture(scope="session")
def report_dir(trained_store, tmp_path_factory):
    """`write_report` of SPEC's run (asked for twice, by prefix and in full) in a fresh
    directory; -> (the directory, the paths written, what the progress callback saw)."""
    from groklab.report import write_report

    out = tmp_path_factory.mktemp("report") / "deep" / "report"
    seen = []
    paths = write_report(
        [SPEC.run_id[:7], SPEC.run_id], out, store=trained_store, progress=seen.append
    )
    return out, paths, seen
