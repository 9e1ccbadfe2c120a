import sqlite3

import numpy as np
import pytest
import torch

from groklab.errors import GroklabError
from groklab.store import METRICS, SCHEMA_VERSION, RunStore, default_store_root

RUN = "r-0123456789"


def make_store(tmp_path, run_id: str = RUN, n_members: int = 3) -> RunStore:
    store = RunStore(tmp_path / "store")
    members = [{"seed": i, "train_fraction": 0.5} for i in range(n_members)]
    store.create_run(
        run_id, '{"op": "add"}', n_members=n_members, summary="add p=7", members=members
    )
    return store


def metrics_at(step: int, n_members: int = 3) -> dict[str, np.ndarray]:
    """Distinct, exactly representable values per (metric, member, step)."""
    member = np.arange(n_members)
    return {name: k * 1000.0 + member * 100.0 + step for k, name in enumerate(METRICS)}


def test_new_store_has_sqlite_file_and_checkpoints_dir_in_wal_mode(tmp_path):
    with RunStore(tmp_path / "a" / "b"):
        pass
    assert (tmp_path / "a" / "b" / "checkpoints").is_dir()
    conn = sqlite3.connect(tmp_path / "a" / "b" / "runs.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_store_with_newer_schema_is_refused_in_one_line(tmp_path):
    RunStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "runs.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(GroklabError, match=f"schema version {SCHEMA_VERSION + 1}") as err:
        RunStore(tmp_path)
    assert "\n" not in str(err.value)


def test_create_run_is_idempotent_and_records_members(tmp_path):
    with make_store(tmp_path) as store:
        assert not store.create_run(RUN, "{}", n_members=3, summary="other", members=[{}] * 3)
        record = store.get_run(RUN)
        assert (record.n_members, record.status, record.step) == (3, "created", 0)
        assert record.summary == "add p=7" and record.spec_json == '{"op": "add"}'
        members = store.read_members(RUN)
        assert [m["member"] for m in members] == [f"{RUN}/{i}" for i in range(3)]
        assert members[2]["spec"] == {"seed": 2, "train_fraction": 0.5}
        assert members[0]["steps_to_val_99"] is None
        assert store.get_run("r-ffffffffff") is None


def test_write_then_read_curves_round_trips_three_members(tmp_path):
    with make_store(tmp_path) as store:
        for step in (0, 10, 20, 50):
            store.write_metrics(RUN, step, metrics_at(step))
        curves = store.read_curves(RUN)
    assert curves["step"].dtype == np.int64
    np.testing.assert_array_equal(curves["step"], [0, 10, 20, 50])
    for name in METRICS:
        expected = np.stack([metrics_at(s)[name] for s in (0, 10, 20, 50)], axis=1)  # [M, S]
        assert curves[name].dtype == np.float64
        np.testing.assert_array_equal(curves[name], expected)


def test_read_curves_is_sorted_by_step_and_nan_where_member_lacks_step(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 20, metrics_at(20))
        store.write_metrics(RUN, 10, {"val_acc": [0.5, float("nan"), 0.7]})
        curves = store.read_curves(RUN)
    np.testing.assert_array_equal(curves["step"], [10, 20])
    np.testing.assert_array_equal(curves["val_acc"][:, 0], [0.5, np.nan, 0.7])
    assert np.isnan(curves["train_loss"][:, 0]).all()


def test_write_metrics_accepts_tensors_and_lists(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 0, {"train_acc": torch.tensor([0.25, 0.5, 1.0]), "lr": [1, 2, 3]})
        curves = store.read_curves(RUN)
    np.testing.assert_array_equal(curves["train_acc"][:, 0], [0.25, 0.5, 1.0])
    np.testing.assert_array_equal(curves["lr"][:, 0], [1, 2, 3])


def test_rewriting_a_step_replaces_rather_than_duplicates(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 10, metrics_at(10))
        store.write_metrics(RUN, 10, {name: v + 0.5 for name, v in metrics_at(10).items()})
        curves = store.read_curves(RUN)
        n_rows = sqlite3.connect(store.path).execute("SELECT count(*) FROM metrics").fetchone()[0]
    assert n_rows == 3
    np.testing.assert_array_equal(curves["train_acc"][:, 0], metrics_at(10)["train_acc"] + 0.5)


def test_truncate_metrics_drops_only_later_steps(tmp_path):
    with make_store(tmp_path) as store:
        for step in (0, 10, 20, 30):
            store.write_metrics(RUN, step, metrics_at(step))
        store.truncate_metrics(RUN, after_step=10)
        np.testing.assert_array_equal(store.read_curves(RUN)["step"], [0, 10])


def test_metric_with_wrong_shape_or_run_is_refused_and_nothing_is_written(tmp_path):
    with make_store(tmp_path) as store:
        with pytest.raises(GroklabError, match=r"shape \[2\]; expected \[3\]"):
            store.write_metrics(RUN, 0, {"val_acc": [0.1, 0.2, 0.3], "train_acc": [0.1, 0.2]})
        with pytest.raises(GroklabError, match="no run 'r-nope'"):
            store.write_metrics("r-nope", 0, {"train_acc": [0.1, 0.2, 0.3]})
        assert store.read_curves(RUN)["step"].size == 0


def test_set_status_updates_status_and_step(tmp_path):
    with make_store(tmp_path) as store:
        store.set_status(RUN, "running", 500)
        record = store.get_run(RUN)
        assert (record.status, record.step) == ("running", 500)
        assert record.updated >= record.created
        with pytest.raises(GroklabError, match="status 'paused' is not one of created"):
            store.set_status(RUN, "paused", 0)


def test_list_runs_is_newest_first(tmp_path):
    with make_store(tmp_path) as store:
        store.create_run("r-bbbbbbbbbb", "{}", n_members=1, summary="b", members=[{}])
        store.create_run("r-aaaaaaaaaa", "{}", n_members=1, summary="a", members=[{}])
        assert [r.run_id for r in store.list_runs()] == ["r-aaaaaaaaaa", "r-bbbbbbbbbb", RUN]


def test_member_summary_round_trips_and_nan_reads_as_none(tmp_path):
    with make_store(tmp_path) as store:
        store.set_member_summary(RUN, 1, steps_to_train_99=300, steps_to_val_99=float("nan"))
        member = store.read_members(RUN)[1]
        assert (member["steps_to_train_99"], member["steps_to_val_99"]) == (300.0, None)
        with pytest.raises(GroklabError, match="unknown member summary 'steps'"):
            store.set_member_summary(RUN, 1, steps=3)
        with pytest.raises(GroklabError, match=f"no member {RUN}/7"):
            store.set_member_summary(RUN, 7, steps_to_train_99=1)


def test_resolve_accepts_unique_prefix_and_member_form(tmp_path):
    with make_store(tmp_path) as store:
        store.create_run("r-0123ffffff", "{}", n_members=1, summary="", members=[{}])
        assert store.resolve("r-01234") == RUN
        assert store.resolve(f"{RUN}/2") == RUN
        assert store.resolve("r-0123f/0") == "r-0123ffffff"


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("r-0123", "ambiguous: matches r-0123456789, r-0123ffffff"),
        ("r-9", "no run matches 'r-9'"),
        ("/3", "empty"),
    ],
)
def test_resolve_errors_are_one_line(tmp_path, prefix, message):
    with make_store(tmp_path) as store:
        store.create_run("r-0123ffffff", "{}", n_members=1, summary="", members=[{}])
        with pytest.raises(GroklabError, match=message) as err:
            store.resolve(prefix)
    assert "\n" not in str(err.value)


def test_resolve_lists_only_a_few_candidates(tmp_path):
    with RunStore(tmp_path) as store:
        for i in range(9):
            store.create_run(f"r-{i}000000000", "{}", n_members=1, summary="", members=[{}])
        with pytest.raises(GroklabError, match=r"r-3000000000, \.\.\. \(9 in all\)$"):
            store.resolve("r-")


def test_checkpoint_path_is_in_checkpoints_dir_and_refuses_path_tricks(tmp_path):
    with RunStore(tmp_path) as store:
        assert store.checkpoint_path(RUN) == tmp_path / "checkpoints" / f"{RUN}.pt"
        with pytest.raises(GroklabError, match="not allowed"):
            store.checkpoint_path("../evil")


def test_default_store_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GROKLAB_STORE", str(tmp_path))
    assert default_store_root() == tmp_path
    monkeypatch.delenv("GROKLAB_STORE")
    assert default_store_root().name == "groklab-runs"


def test_layer_norms_round_trip_and_truncate_with_the_metrics(tmp_path):
    store = make_store(tmp_path)
    for step in (0, 10, 20):
        store.write_metrics(RUN, step, metrics_at(step))
        store.write_layer_norms(RUN, step, {"W_E": [1.0 + step, 2.0, 3.0], "W_U": [4.0, 5.0, 6.0]})
    norms = store.read_layer_norms(RUN)
    assert list(norms["step"]) == [0, 10, 20] and sorted(norms) == ["W_E", "W_U", "step"]
    assert norms["W_E"].shape == (3, 3) and list(norms["W_E"][0]) == [1.0, 11.0, 21.0]
    store.truncate_metrics(RUN, after_step=10)
    assert list(store.read_layer_norms(RUN)["step"]) == [0, 10]


def test_a_version_1_store_gains_the_layer_norms_table_when_opened(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "runs.sqlite")
    conn.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, spec_json TEXT NOT NULL, n_members INTEGER "
        "NOT NULL, status TEXT NOT NULL, step INTEGER NOT NULL, created TEXT NOT NULL, "
        "updated TEXT NOT NULL, summary TEXT NOT NULL)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with RunStore(root) as store:
        store.create_run(RUN, "{}", n_members=1, summary="old", members=[{}])
        store.write_layer_norms(RUN, 0, {"W_E": [2.0]})
        assert store.read_layer_norms(RUN)["W_E"].tolist() == [[2.0]]


def test_a_new_measure_needs_no_schema_change_and_reads_back_per_member(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 0, {"val_acc": [0.0, 0.5, 1.0], "fourier_gini": [0.1, 0.2, 0.3]})
        store.write_metrics(RUN, 10, {"fourier_gini": [0.4, 0.5, 0.6]})
        measures = store.read_measures(RUN, ["fourier_gini"])
        np.testing.assert_array_equal(measures["step"], [0, 10])
        np.testing.assert_array_equal(
            measures["fourier_gini"], [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]
        )
        assert store.measure_names(RUN) == ["fourier_gini", "val_acc"]
        np.testing.assert_array_equal(store.read_curves(RUN)["step"], [0])  # metrics' steps only


def test_read_measures_keeps_the_order_given_and_all_names_are_sorted(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 0, {"b": [1, 2, 3], "a": [4, 5, 6]})
        store.write_metrics(RUN, 5, {"a": [7, 8, np.nan]})
        store.write_layer_norms(RUN, 5, {"W_E": [1.0, 1.0, 1.0]})
        assert list(store.read_measures(RUN, ["b", "a"])) == ["step", "b", "a"]
        every = store.read_measures(RUN)
        assert list(every) == ["step", "a", "b", "norm/W_E"]
        np.testing.assert_array_equal(every["step"], [0, 5])
        np.testing.assert_array_equal(every["a"], [[4, 7], [5, 8], [6, np.nan]])
        np.testing.assert_array_equal(every["b"][:, 1], [np.nan] * 3)
        np.testing.assert_array_equal(every["norm/W_E"][:, 0], [np.nan] * 3)


def test_read_measures_of_an_unrecorded_name_is_a_one_line_error_listing_the_runs(tmp_path):
    with make_store(tmp_path) as store:
        with pytest.raises(GroklabError, match="has no measure 'gini'; it has: none yet"):
            store.read_measures(RUN, ["gini"])
        store.write_metrics(RUN, 0, {"train_acc": [1, 1, 1], "gini": [0, 0, 0]})
        with pytest.raises(GroklabError, match=f"run {RUN} has no measure 'ginni'; it has: gini, "):
            store.read_measures(RUN, ["ginni"])
        assert store.read_measures(RUN, ["val_loss"])["val_loss"].shape == (3, 0)  # a metric
        with pytest.raises(GroklabError, match="no run 'r-nope'"):
            store.measure_names("r-nope")


@pytest.mark.parametrize("name", ["", " ", "a,b", "a\nb", "step", "member", 3])
def test_a_bad_measure_name_is_refused_in_one_line_and_nothing_is_written(tmp_path, name):
    with make_store(tmp_path) as store:
        with pytest.raises(GroklabError, match="is not allowed; use a non-empty string") as err:
            store.write_metrics(RUN, 0, {"train_acc": [1, 1, 1], name: [1, 2, 3]})
        assert "\n" not in str(err.value)
        assert store.measure_names(RUN) == []


def test_rewriting_one_measure_at_a_step_keeps_the_others(tmp_path):
    with make_store(tmp_path) as store:
        store.write_metrics(RUN, 10, metrics_at(10) | {"gini": [1, 2, 3]})
        store.write_metrics(RUN, 10, {"gini": [4, 5, 6]})
        np.testing.assert_array_equal(
            store.read_curves(RUN)["val_acc"][:, 0], metrics_at(10)["val_acc"]
        )
        np.testing.assert_array_equal(store.read_measures(RUN, ["gini"])["gini"][:, 0], [4, 5, 6])


def test_truncate_drops_every_measure_after_the_step(tmp_path):
    with make_store(tmp_path) as store:
        for step in (0, 10, 20):
            store.write_metrics(RUN, step, {"gini": [step] * 3, "train_acc": [0.5] * 3})
            store.write_layer_norms(RUN, step, {"W_E": [1.0] * 3})
        store.truncate_metrics(RUN, after_step=0)
        for name in ("gini", "train_acc", "norm/W_E"):
            assert store.read_measures(RUN, [name])["step"].tolist() == [0], name


def test_layer_norms_are_measures_named_with_the_norm_prefix(tmp_path):
    with make_store(tmp_path) as store:
        store.write_layer_norms(RUN, 0, {"blocks.0.attn.W_Q": [1.0, 2.0, 3.0]})
        assert store.measure_names(RUN) == ["norm/blocks.0.attn.W_Q"]
        norms = store.read_layer_norms(RUN)
        assert list(norms) == ["step", "blocks.0.attn.W_Q"]
        assert norms["blocks.0.attn.W_Q"].tolist() == [[1.0], [2.0], [3.0]]
        np.testing.assert_array_equal(store.read_curves(RUN)["step"], [])


def test_measures_of_one_run_never_leak_into_another(tmp_path):
    with make_store(tmp_path) as store:
        store.create_run("r-1111111111", "{}", n_members=1, summary="", members=[{}])
        store.write_metrics(RUN, 0, {"gini": [1, 2, 3]})
        store.write_metrics("r-1111111111", 5, {"gini": [9], "zeta": [8]})
        assert store.measure_names(RUN) == ["gini"]
        assert store.read_measures("r-1111111111")["gini"].tolist() == [[9.0]]
        assert store.read_measures(RUN)["step"].tolist() == [0]
