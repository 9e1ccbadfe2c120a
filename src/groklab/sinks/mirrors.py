"""TensorBoard and W&B mirrors of the store: what the store accepted, as per-member scalars.

    sinks = [TensorBoardSink("tb"), WandbSink("grokking", directory="wandb")]
    train(spec, store, sinks=sinks)          # the store's own sink always runs first

Each evaluation becomes scalars tagged `member{i}/{metric}` (`member0/val_acc`) and
`member{i}/norm/{parameter}`, at the evaluation's step. TensorBoard gets one event-file
directory per run (`DIR/<run id>`); W&B one run per population (named by the run id, the spec
as its config, per-member keys). A mirror checks itself when built (extra installed, directory
writable), so a bad one fails before anything is trained or stored. A mirror is never the
source of truth: a resumed run logs its replayed steps again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from groklab.errors import GroklabError
from groklab.events import BaseSink, EvalEvent, RunInfo


def member_scalars(event: EvalEvent) -> dict[str, float]:
    """{'member0/val_acc': 0.93, 'member0/norm/W_E': 4.1, ...}: one scalar per member."""
    out = {}
    for i in range(len(event.metrics["val_acc"])):
        out |= {f"member{i}/{k}": float(v[i]) for k, v in event.metrics.items()}
        out |= {f"member{i}/norm/{k}": float(v[i]) for k, v in event.layer_norms.items()}
    return out


def _directory(path: str | Path, flag: str) -> Path:
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GroklabError(f"{flag} {str(path)!r} cannot be created: {e.strerror}") from None
    if not os.access(path, os.W_OK):
        raise GroklabError(f"{flag} {str(path)!r} is not writable")
    return path


class TensorBoardSink(BaseSink):
    """Event files under `directory/<run id>` (torch.utils.tensorboard, extra `tensorboard`)."""

    def __init__(self, directory: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise GroklabError(
                "--tensorboard needs TensorBoard: pip install 'groklab[tensorboard]'"
            ) from None
        self._writer_class = SummaryWriter
        self.directory = _directory(directory, "--tensorboard")
        self.writers: dict[str, object] = {}

    def on_start(self, run: RunInfo, step: int) -> None:
        self.on_end(run.run_id, "retried", step)  # a retried attempt replaces an open writer
        writer = self._writer_class(log_dir=str(self.directory / run.run_id))
        writer.add_text("spec", run.spec_json, global_step=step)
        self.writers[run.run_id] = writer

    def on_eval(self, event: EvalEvent) -> None:
        writer = self.writers[event.run_id]
        for tag, value in member_scalars(event).items():
            writer.add_scalar(tag, value, global_step=event.step)

    def on_end(self, run_id: str, status: str, step: int) -> None:
        writer = self.writers.pop(run_id, None)
        if writer is not None:
            writer.close()


class WandbSink(BaseSink):
    """One W&B run per population (extra `wandb`); `WANDB_MODE=offline` writes it locally.
    W&B writes through a service process of its own: a run's files are complete once
    `wandb.teardown()` has returned (W&B calls it at exit), not when `on_end` has."""

    def __init__(self, project: str, *, directory: str | Path | None = None) -> None:
        try:
            import wandb
        except ImportError:
            raise GroklabError(
                "--wandb needs Weights & Biases: pip install 'groklab[wandb]'"
            ) from None
        if not project:
            raise GroklabError("--wandb project name is empty; give one, e.g. --wandb grokking")
        self.wandb, self.project = wandb, project
        self.directory = None if directory is None else _directory(directory, "--wandb-dir")
        self.runs: dict[str, object] = {}

    def on_start(self, run: RunInfo, step: int) -> None:
        self.on_end(run.run_id, "retried", step)  # a retried attempt gets a W&B run of its own
        self.runs[run.run_id] = self.wandb.init(
            project=self.project,
            name=run.run_id,
            group=run.run_id,
            config={"run_id": run.run_id, "spec": json.loads(run.spec_json)},
            dir=None if self.directory is None else str(self.directory),
            reinit="create_new",
            settings=self.wandb.Settings(silent=True, console="off"),  # only the CLI prints
        )

    def on_eval(self, event: EvalEvent) -> None:
        self.runs[event.run_id].log({"step": event.step, **member_scalars(event)}, step=event.step)

    def on_end(self, run_id: str, status: str, step: int) -> None:
        run = self.runs.pop(run_id, None)
        if run is not None:
            run.summary["status"] = status
            run.finish(exit_code=0 if status == "done" else 1)
