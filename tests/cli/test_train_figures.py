"""`groklab plot`, `groklab train --out` and `groklab runs` say what sets members and runs apart
(src/groklab/cli/train.py: cmd_plot, _run_figure, cmd_runs)."""

import contextlib
import io
import re

import numpy as np
import pytest

from groklab.cli import main
from groklab.cli.train import _run_figure
from groklab.store import RunStore

TINY = ["train", "--op", "add", "--p", "7", "--n-layers", "1", "--d-model", "16", "--n-heads", "2"]
TINY += ["--d-mlp", "32", "--eval-every", "5", "--steps", "10"]
RUN_LINE = re.compile(r"^run (r-[0-9a-f]{10}): ", re.MULTILINE)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """README's population (weight decays 0.3, 1, 1) and a one-member run at init scale 3."""
    store = tmp_path_factory.mktemp("figures") / "store"
    ids = []
    for extra in (["--seeds", "0-2", "--weight-decay", "0.3,1,1"], ["--init-scale", "3"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert main([*TINY, "--store", str(store), *extra]) == 0
        ids.append(RUN_LINE.search(out.getvalue()).group(1))
    return store, ids


def test_plot_of_a_mixed_population_labels_groups_by_weight_decay(two_runs):
    store, (population, _) = two_runs
    fig = _run_figure(RunStore(store), population)
    legend = fig.axes[-1].get_legend() or fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:2] == ["wd 0.3", "wd 1 (2 seeds)"]
    title = fig.get_suptitle()
    assert title.startswith(f"{population}: add p=7, fraction 0.5, lr 0.001")
    assert "wd" not in title and "steps" not in title  # wd differs; the budget is not a setting


def test_plot_of_a_single_run_titles_its_fraction_lr_and_wd(two_runs):
    store, (_, single) = two_runs
    title = _run_figure(RunStore(store), single).get_suptitle()
    assert "fraction 0.5, lr 0.001, wd 1, init 3" in title


def test_runs_shows_what_differs_and_the_worst_members_best_val(two_runs, run_cli):
    store, (population, single) = two_runs
    status, out, _ = run_cli(["runs", "--store", str(store)])
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert status == 0
    assert rows[population].endswith("; wd 0.3,1, init 1")
    assert rows[single].endswith("; wd 1, init 3")
    val = RunStore(store).read_curves(population)["val_acc"]  # [M, S]
    best = np.nanmax(val, axis=1)
    assert f"{best.max():.3f} (worst {best.min():.3f})" in rows[population]
