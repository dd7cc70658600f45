"""A model as it was at a training step: the `snapshot` of a request, checked against what the model kept."""
from __future__ import annotations

from app.cells.timeline import load_timeline
from app.engine.checkpoint import CheckpointError, LoadedModel
from app.engine.snapshots import Snapshot, SnapshotCache, read_index
from app.errors import InputError


def snapshots_of(loaded: LoadedModel) -> list[Snapshot]:
    try:
        return read_index(loaded.path) if loaded.path is not None else []
    except CheckpointError as exc:  # a broken index is the server's problem, said plainly
        raise InputError(503, f"model {loaded.name!r}: its snapshots cannot be read ({exc})") from exc


def model_at(loaded: LoadedModel, step: int | None, cache: SnapshotCache) -> LoadedModel:
    """The final model when step is None, else its snapshot at that step (loaded on first use, then cached)."""
    if step is None:
        return loaded
    snapshots = snapshots_of(loaded)
    if not snapshots:
        raise InputError(422, f"snapshot: model {loaded.name!r} has no training snapshots; "
                              "omit snapshot, or pick a model trained with --snapshots")
    found = next((s for s in snapshots if s.step == step), None)
    if found is None:
        steps = ", ".join(str(s.step) for s in snapshots)
        raise InputError(422, f"snapshot: model {loaded.name!r} has no snapshot at step {step}; its steps are {steps}")
    try:
        return cache.get(loaded, found)
    except CheckpointError as exc:
        raise InputError(503, f"model {loaded.name!r}: snapshot at step {step} cannot be loaded ({exc})") from exc


def snapshot_list(loaded: LoadedModel) -> dict:
    """GET /api/models/{name}/snapshots: every kept step with its characters seen and validation bits/char."""
    return {"model": loaded.name,
            "snapshots": [{"step": s.step, "chars_seen": s.chars_seen, "val_bpc": s.val_bpc} for s in snapshots_of(loaded)]}


def timeline_of(loaded: LoadedModel) -> dict:
    timeline = load_timeline(loaded.path) if loaded.path is not None else None
    if timeline is None:
        if not snapshots_of(loaded):
            raise InputError(404, f"model {loaded.name!r} has no training snapshots, so no timeline; "
                                  "train a model with --snapshots N to follow its cells through training")
        raise InputError(404, f"model {loaded.name!r} has snapshots but no timeline yet; build it with "
                              f"python -m app.cells.timeline models/{loaded.name}")
    return timeline
