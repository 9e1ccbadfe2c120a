"""Curves as CSV, the format of `groklab curves RUN --out FILE.csv`.

One row per (member, step) the member was evaluated at, sorted by (member, step):

    member,step,train_loss,train_acc,val_loss,val_acc,weight_norm,lr
    0,0,4.59,0.01,4.6,0.0,31.2,0.001
    0,100,0.02,1.0,4.9,0.03,30.8,0.001

Floats are written with `repr` (shortest text that reads back to the same float); a metric
that was not recorded is an empty field. Other measures may follow as extra columns, in the
order asked for (`groklab curves RUN --measures fourier_gini,norm/W_E` or `--all`):

    member,step,train_loss,train_acc,val_loss,val_acc,weight_norm,lr,fourier_gini,norm/W_E
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from groklab.errors import GroklabError
from groklab.files import write_atomic
from groklab.store.db import METRICS

CURVES_HEADER = ("member", "step", *METRICS)


def write_curves_csv(
    curves: dict[str, np.ndarray], path: str | Path, *, measures: Sequence[str] = ()
) -> None:
    """Write `RunStore.read_curves` output ({"step": [S], metric: [M, S]}) atomically, with
    `measures` (names of `curves` besides the metrics, e.g. `RunStore.read_measures` output)
    as extra columns in that order. A row is a (member, step) with any value recorded."""
    columns = [*METRICS, *(name for name in measures if name not in METRICS)]
    missing = [name for name in ("step", *columns) if name not in curves]
    if missing:
        raise GroklabError(f"curves lack {', '.join(missing)}; expected step and {columns}")
    steps = np.asarray(curves["step"], dtype=np.int64)  # [S]
    values = np.stack([np.asarray(curves[name], dtype=np.float64) for name in columns])  # [K, M, S]

    def write(f: IO[str]) -> None:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["member", "step", *columns])
        for member in range(values.shape[1]):
            for j in np.flatnonzero(~np.isnan(values[:, member]).all(axis=0)):  # sorted steps
                row = [_format(v) for v in values[:, member, j]]
                writer.writerow([member, int(steps[j]), *row])

    write_atomic(path, write)


def write_layer_norms_csv(norms: dict[str, np.ndarray], path: str | Path) -> None:
    """Write `RunStore.read_layer_norms` output as `member,step,<parameter>...`, one row per
    (member, step), atomically (`groklab curves RUN --layers`)."""
    names = [k for k in norms if k != "step"]
    steps = np.asarray(norms["step"], dtype=np.int64)
    n_members = norms[names[0]].shape[0] if names else 0

    def write(f: IO[str]) -> None:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["member", "step", *names])
        for member in range(n_members):
            for j, step in enumerate(steps):
                row = [_format(norms[name][member, j]) for name in names]
                if any(row):
                    writer.writerow([member, int(step), *row])

    write_atomic(path, write)


def read_curves_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a curves CSV back into {"step": [S] int64, metric: [M, S] float64}, and each extra
    measure column after the metrics likewise."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = tuple(next(reader, ()))
            rows = list(reader)
    except OSError as e:
        raise GroklabError(f"cannot read curves file {path} ({e.strerror})") from None
    if header[: len(CURVES_HEADER)] != CURVES_HEADER:
        raise GroklabError(
            f"{path} has header {','.join(header)}; expected {','.join(CURVES_HEADER)} "
            "and any measures after it"
        )
    member = np.array([int(r[0]) for r in rows], dtype=np.int64)
    step = np.array([int(r[1]) for r in rows], dtype=np.int64)
    steps = np.unique(step)  # [S]
    n_members = int(member.max()) + 1 if rows else 0
    curves: dict[str, np.ndarray] = {"step": steps}
    for k, name in enumerate(header[2:]):
        values = np.full((n_members, steps.size), np.nan)  # [M, S]
        values[member, np.searchsorted(steps, step)] = [float(r[2 + k] or "nan") for r in rows]
        curves[name] = values
    return curves


def _format(value: float) -> str:
    return "" if np.isnan(value) else repr(float(value))
