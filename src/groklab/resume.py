"""A resume point the store's rows do not cover, found before training and mended on request.

The resume point (checkpoint) and the rows (SQLite) are written separately, so one can outlive
the other: a store emptied, replaced or deleted while its checkpoints stayed, or a lost tail of
writes. Resuming then would finish the run with those evaluations missing for good, and no one
the wiser. So `train` refuses, in one line, a resume point ahead of the rows, and says how to
mend it: `rewind` moves the resume point back to the last step both hold (the latest kept
checkpoint whose earlier evaluations are all stored, else step 0), and training from there
records every missing evaluation again (it is deterministic: the same numbers).

    gap = resume_gap(store, spec)      # None, or the steps missing and where to rewind
    rewind(store, spec)                # the step training will restart from
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from groklab.spec import RunSpec
from groklab.train.schedule import evaluated_before

if TYPE_CHECKING:  # the store is handed in; nothing here opens one
    from groklab.store import RunStore


@dataclass(frozen=True)
class ResumeGap:
    checkpoint_step: int  # where the resume point is
    missing: list[int]  # evaluation steps before it that the store lacks
    rewind_to: int  # the last step both the rows and a checkpoint hold (0: the start)

    def text(self, run_id: str, path) -> str:
        """The one line a trainer or a sweep refuses the run with, and the fix."""
        return (
            f"run {run_id}: checkpoint {path} is at step {self.checkpoint_step} but the store "
            f"lacks {len(self.missing)} of the evaluations before it, from step "
            f"{self.missing[0]} (the store was emptied, replaced or lost writes); run this "
            f"again with --rewind to retrain from step {self.rewind_to}, the last step the "
            "store and a checkpoint both hold, which records them again"
        )


def stored_steps(store: RunStore, run_id: str) -> set[int]:
    """The steps at which the store holds the run's evaluation (train_loss of every member)."""
    if store.get_run(run_id) is None:
        return set()
    curves = store.read_curves(run_id)
    held = ~(curves["train_loss"] != curves["train_loss"]).any(0)  # no member is NaN
    return {int(s) for s, ok in zip(curves["step"].tolist(), held.tolist(), strict=True) if ok}


def resume_gap(store: RunStore, spec: RunSpec) -> ResumeGap | None:
    """Whether the run's resume point is ahead of its stored evaluations (None: it is not)."""
    from groklab.store import load_run_checkpoint

    path = store.checkpoint_path(spec.run_id)
    if not path.exists():
        return None
    saved = load_run_checkpoint(path, spec.run_id, mmap=True)
    step, done = saved.get("step"), bool(saved.get("done"))
    if type(step) is not int or not 0 <= step <= spec.train.steps:
        return None  # not a resume point of this run at all: the loop refuses it, named
    held = stored_steps(store, spec.run_id)
    every = spec.train.eval_every
    missing = [s for s in evaluated_before(step, every, done=done) if s not in held]
    if not missing:
        return None
    kept = [k for k in store.kept_checkpoints(spec.run_id) if k < step]
    covered = [k for k in kept if all(s in held for s in evaluated_before(k, every, done=False))]
    return ResumeGap(step, missing, max(covered, default=0))


def rewind(store: RunStore, spec: RunSpec) -> int | None:
    """Move the resume point back to where the rows cover it (the caller holds the run's lock);
    the step training restarts from, or None if there was nothing to mend."""
    gap = resume_gap(store, spec)
    if gap is None:
        return None
    path = store.checkpoint_path(spec.run_id)
    if gap.rewind_to == 0:
        path.unlink()
    else:
        from groklab.files import write_bytes_atomic

        kept = store.kept_checkpoint_path(spec.run_id, gap.rewind_to)
        write_bytes_atomic(path, kept.read_bytes())  # a bound, checked state of this run
    return gap.rewind_to
