"""A store on read-only media: `runs`, `curves`, `plot` and `report` read it; `train`,
`measure` and `sweep` exit 2 with one line naming it, and nothing changes.

The store's folder is a read-only mount in a subprocess (`on_read_only_media`,
tests/conftest.py), so writes fail there for root too; the CLI runs in that one process.
"""

import json
import re
import subprocess
import sys

TINY = "--op add --p 7 --model mlp --d-model 8 --d-mlp 16 --n-layers 1 --steps 20 --eval-every 10"

CLI_CALLS = """
import contextlib, io, json, sys
from groklab.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def on_read_only_store(on_read_only_media, store, calls: list[list[str]]) -> list:
    done = on_read_only_media(store, [sys.executable, "-c", CLI_CALLS, json.dumps(calls)])
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def trained_store(tmp_path) -> tuple[str, str]:
    """A store as one is copied onto read-only media: its writer has ended, so runs.sqlite
    stands alone (no WAL, no shared-memory file: SQLite cannot make one there)."""
    store = str(tmp_path / "store")
    argv = [sys.executable, "-m", "groklab", "train", *TINY.split(), "--store", store]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "store" / "runs.sqlite-shm").exists()
    return store, re.search(r"r-[0-9a-f]{10}", done.stdout).group(0)


def test_runs_curves_plot_and_report_read_a_store_on_read_only_media(
    run_cli, tmp_path, on_read_only_media
):
    store, run_id = trained_store(tmp_path)
    out = tmp_path / "out"  # outside the read-only mount
    calls = [
        ["runs", "--store", store],
        ["curves", run_id, "--out", str(out / "c.csv"), "--store", store],
        ["plot", run_id, "--out", str(out / "p.png"), "--store", store],
        ["report", "--all", "--out", str(out / "report"), "--store", store],
    ]
    results = on_read_only_store(on_read_only_media, store, calls)
    for argv, (code, _, err) in zip(calls, results, strict=True):
        assert code == 0, (argv[0], err)
    assert run_id in results[0][1] and "done" in results[0][1]
    code, _, err = run_cli(["curves", run_id, "--out", str(tmp_path / "c.csv"), "--store", store])
    assert code == 0, err  # the same curves, read where the store is writable
    assert (out / "c.csv").read_text() == (tmp_path / "c.csv").read_text()
    assert (out / "p.png").stat().st_size > 0 and (out / "report" / f"{run_id}.html").is_file()


def test_train_measure_and_sweep_on_read_only_media_are_one_line_and_exit_2(
    run_cli, tmp_path, on_read_only_media
):
    store, run_id = trained_store(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('[data]\nop = "add"\np = 7\n[train]\nsteps = 5\n[grid]\nseed = [1, 2]\n')
    calls = [
        ["train", *TINY.split(), "--seeds", "3", "--store", store],
        ["measure", run_id, "--store", store],
        ["sweep", str(sweep), "--out", str(tmp_path / "rows.csv"), "--store", store],
    ]
    results = on_read_only_store(on_read_only_media, store, calls)
    for argv, (code, _, err) in zip(calls, results, strict=True):
        assert code == 2, (argv[0], err)
        assert err.count("\n") == 1 and f"store {store} is read-only" in err, (argv[0], err)
    code, out, _ = run_cli(["runs", "--store", store])  # read back where it is writable
    assert code == 0 and len(re.findall(r"r-[0-9a-f]{10}", out)) == 1  # no run was added
