import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.store import METRICS, RunStore, curves_csv, read_curves_csv, write_curves_csv

HEADER = "member,step,train_loss,train_acc,val_loss,val_acc,weight_norm,lr"


def make_curves(n_members: int = 2, steps=(0, 10, 100)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    curves = {"step": np.array(steps, dtype=np.int64)}
    for name in METRICS:
        curves[name] = rng.random((n_members, len(steps)))
    return curves


def test_header_is_exact_and_rows_sorted_by_member_then_step(tmp_path):
    write_curves_csv(make_curves(), tmp_path / "c.csv")
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == HEADER
    keys = [tuple(int(v) for v in line.split(",")[:2]) for line in lines[1:]]
    assert keys == [(0, 0), (0, 10), (0, 100), (1, 0), (1, 10), (1, 100)]


def test_round_trip_is_exact(tmp_path):
    curves = make_curves(n_members=3)
    curves["lr"][1, 2] = np.nan  # one metric not recorded: an empty field
    write_curves_csv(curves, tmp_path / "c.csv")
    back = read_curves_csv(tmp_path / "c.csv")
    assert back.keys() == curves.keys()
    for name, values in curves.items():
        np.testing.assert_array_equal(back[name], values)


def test_store_curves_with_unevaluated_step_skip_that_row(tmp_path):
    with RunStore(tmp_path / "s") as store:
        store.create_run("r-0000000000", "{}", n_members=2, summary="", members=[{}, {}])
        store.write_metrics("r-0000000000", 0, {name: [0.0, 1.0] for name in METRICS})
        store.write_metrics("r-0000000000", 5, {"val_acc": [0.5, np.nan]})
        write_curves_csv(store.read_curves("r-0000000000"), tmp_path / "c.csv")
    rows = (tmp_path / "c.csv").read_text().splitlines()[1:]
    assert rows == [
        "0,0,0.0,0.0,0.0,0.0,0.0,0.0",
        "0,5,,,,0.5,,",
        "1,0,1.0,1.0,1.0,1.0,1.0,1.0",
    ]


def test_missing_directory_is_named_and_no_file_is_left(tmp_path):
    with pytest.raises(GroklabError, match=f"directory {tmp_path / 'nope'} does not exist"):
        write_curves_csv(make_curves(), tmp_path / "nope" / "c.csv")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    write_curves_csv(make_curves(), tmp_path / "c.csv")
    before = (tmp_path / "c.csv").read_text()
    calls = []

    def format_then_interrupt(value: float) -> str:
        calls.append(value)
        if len(calls) > 10:  # some rows are already written to the temp file
            raise KeyboardInterrupt
        return repr(value)

    monkeypatch.setattr(curves_csv, "_format", format_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_curves_csv(make_curves(steps=(1, 2, 3)), tmp_path / "c.csv")
    assert (tmp_path / "c.csv").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"]


def test_extra_measures_follow_the_metrics_in_the_order_given_and_read_back(tmp_path):
    curves = make_curves() | {"norm/W_E": np.array([[1.5, np.nan, 2.0], [3.0, 4.0, 5.0]])}
    curves["gini"] = np.array([[np.nan, 0.25, np.nan], [0.5, 0.75, 1.0]])
    write_curves_csv(curves, tmp_path / "c.csv", measures=["gini", "norm/W_E"])
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == HEADER + ",gini,norm/W_E"
    back = read_curves_csv(tmp_path / "c.csv")
    assert list(back) == ["step", *METRICS, "gini", "norm/W_E"]
    for name, values in curves.items():
        np.testing.assert_array_equal(back[name], values)


def test_a_row_with_only_an_extra_measure_is_written(tmp_path):
    curves = {"step": np.array([0, 7])} | {name: np.array([[0.5, np.nan]]) for name in METRICS}
    curves["gini"] = np.array([[np.nan, 0.25]])
    write_curves_csv(curves, tmp_path / "c.csv", measures=["gini"])
    assert (tmp_path / "c.csv").read_text().splitlines()[1:] == [
        "0,0,0.5,0.5,0.5,0.5,0.5,0.5,",
        "0,7,,,,,,,0.25",
    ]


def test_a_missing_measure_or_foreign_header_is_one_line(tmp_path):
    with pytest.raises(GroklabError, match="curves lack gini") as err:
        write_curves_csv(make_curves(), tmp_path / "c.csv", measures=["gini"])
    assert "\n" not in str(err.value) and not (tmp_path / "c.csv").exists()
    (tmp_path / "d.csv").write_text("member,step,loss\n0,0,1.0\n")
    with pytest.raises(GroklabError, match="has header member,step,loss; expected member,step,"):
        read_curves_csv(tmp_path / "d.csv")
