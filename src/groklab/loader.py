"""One trained member as a plain `nn.Module` on the CPU, with its task: for analysis and export.

    >>> model, task = groklab.load("r-0123456789", member=0)          # the latest state
    >>> model, task = groklab.load("r-0123456789", member=2, step=1000)  # a kept checkpoint
    >>> logits = model(task.inputs[task.val_mask])                     # [N_val, V]
    >>> task.evaluate(model)["val_acc"]                                # as stored at that step

The weights come from the run's checkpoint at `step`: a kept one (`--keep-checkpoints`) or the
resume point. The task is the member's own view of its data set: the same inputs for every
member, that member's targets (label noise differs by member) and its train / validation masks,
built from the stored spec exactly as training built them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from groklab.config import spec_from_json
from groklab.errors import GroklabError
from groklab.spec import RunSpec, canonical_json
from groklab.store import RunStore, default_store_root, load_checkpoint, load_run_checkpoint
from groklab.train.losses import example_correct, example_loss
from groklab.train.population import Population
from groklab.train.state import Task, build_template, make_task
from groklab.train.step import autocast, loss_dtype

EXPORT_FORMAT = 1


@dataclass(frozen=True)
class MemberTask:
    """One member's examples: `inputs` are shared by the population, the rest is the member's."""

    run_id: str
    member: int
    step: int  # the training step the weights are from
    spec: RunSpec  # the whole population's spec; `spec.members[member]` is this member's
    inputs: Tensor  # [N, ...] tokens or features
    targets: Tensor  # [N] classes or [N, K] rows
    train_mask: Tensor  # [N] bool
    val_mask: Tensor  # [N] bool
    templates: Tensor | None  # [V, K] MSE target row per class, or None

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """train/val loss and accuracy of `model` on this task, computed as training does."""
        with autocast(self.spec, torch.device("cpu")):
            out = model(self.inputs)[None]  # [1, N, V]
        targets = self.targets[None]
        kind = self.spec.train.loss
        loss = example_loss(kind, out, targets, self.templates, dtype=loss_dtype(self.spec))
        hit = example_correct(kind, out, targets, self.templates)
        loss, hit = loss[0].double(), hit[0].double()  # [N]
        out_: dict[str, float] = {}
        for split, mask in (("train", self.train_mask), ("val", self.val_mask)):
            weight = mask.double()
            out_[f"{split}_loss"] = float((loss * weight).sum() / weight.sum())
            out_[f"{split}_acc"] = float((hit * weight).sum() / weight.sum())
        return out_


def load(
    run_id: str,
    member: int = 0,
    step: int | None = None,
    store: RunStore | str | Path | None = None,
) -> tuple[nn.Module, MemberTask]:
    """Member `member` of run `run_id` (a unique prefix will do) at kept step `step` (None: the
    latest state) as a plain CPU module, and its task. Store: a RunStore, a directory, or None
    for `$GROKLAB_STORE` / `./groklab-runs`."""
    if isinstance(store, RunStore):
        return _load(store, run_id, member, step)
    with RunStore(default_store_root() if store is None else store) as opened:
        return _load(opened, run_id, member, step)


def _load(store: RunStore, run_id: str, member: int, step: int | None):
    run_id = store.resolve(run_id)
    spec = spec_from_json(store.get_run(run_id).spec_json)
    _check_member(run_id, member, spec.n_members)
    state, at = checkpoint_at(store, run_id, step)
    task = make_task(spec, torch.device("cpu"))
    model = build_member(spec, task, state["flat"][member])
    return model, member_task(task, spec, run_id, member, at)


def checkpoint_at(store: RunStore, run_id: str, step: int | None) -> tuple[dict, int]:
    """The run's saved state at `step` (None: the resume point, its latest) and its step; a
    checkpoint of another run (or of none) is a one-line GroklabError naming the file."""
    resume = store.checkpoint_path(run_id)
    if step is None:
        if not resume.exists():
            raise GroklabError(f"run {run_id} has no checkpoint yet (train it first)")
        state = load_run_checkpoint(resume, run_id)
        return state, int(state["step"])
    kept = store.kept_checkpoints(run_id)
    if step in kept:
        return load_run_checkpoint(kept[step], run_id), step
    if resume.exists():
        state = load_run_checkpoint(resume, run_id)
        if int(state["step"]) == step:
            return state, step
        kept[int(state["step"])] = resume
    shown = ", ".join(str(s) for s in list(kept)[:8]) + (", ..." if len(kept) > 8 else "")
    raise GroklabError(
        f"step={step} is not a kept step of run {run_id}; allowed: {shown or 'none'}"
        " (keep more with --keep-checkpoints)"
    )


def build_member(spec: RunSpec, task: Task, flat_row: Tensor) -> nn.Module:
    """A plain module of the spec's shape holding the weights `flat_row` [P]."""
    template = build_template(spec, task)
    size = sum(p.numel() for p in template.parameters())
    if flat_row.numel() != size:
        raise GroklabError(
            f"checkpoint holds {flat_row.numel()} parameters per member; "
            f"the spec's model has {size}"
        )
    return Population(template, flat_row[None]).member_module(0).eval()


def member_task(task: Task, spec: RunSpec, run_id: str, member: int, step: int) -> MemberTask:
    return MemberTask(
        run_id=run_id,
        member=member,
        step=step,
        spec=spec,
        inputs=task.inputs,
        targets=task.targets[member],
        train_mask=task.masks[member],
        val_mask=task.val_masks[member],
        templates=task.templates,
    )


def export_member(
    run_id: str,
    out: str | Path,
    *,
    member: int = 0,
    step: int | None = None,
    store: RunStore | str | Path | None = None,
) -> Path:
    """Write member `member` at `step` as {"state_dict", "spec_json", "run_id", "member", "step",
    "format"} to `out` (torch.save); `load_exported` rebuilds the module from it alone."""
    from groklab.store import save_atomic

    save_atomic(exported_member(run_id, member=member, step=step, store=store), Path(out))
    return Path(out)


def exported_member(
    run_id: str,
    *,
    member: int = 0,
    step: int | None = None,
    store: RunStore | str | Path | None = None,
) -> dict:
    """What `export_member` writes, not yet written: a bad member or step fails here."""
    model, task = load(run_id, member, step, store)
    return {
        "format": EXPORT_FORMAT,
        "state_dict": model.state_dict(),
        "spec_json": canonical_json(task.spec),
        "run_id": task.run_id,
        "member": member,
        "step": task.step,
    }


def load_exported(path: str | Path) -> tuple[nn.Module, MemberTask]:
    """The module and task of a file written by `export_member` (no store needed)."""
    blob = load_checkpoint(Path(path))
    if not isinstance(blob, dict) or blob.get("format") != EXPORT_FORMAT:
        raise GroklabError(f"{path} is not a groklab export (format {EXPORT_FORMAT})")
    spec = spec_from_json(blob["spec_json"])
    task = make_task(spec, torch.device("cpu"))
    model = build_template(spec, task)
    model.load_state_dict(blob["state_dict"])
    return model.eval(), member_task(task, spec, blob["run_id"], blob["member"], blob["step"])


def _check_member(run_id: str, member: int, n_members: int) -> None:
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < n_members:
        raise GroklabError(
            f"member={member!r} is not a member of run {run_id}; allowed: 0..{n_members - 1}"
        )
