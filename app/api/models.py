"""Listing the served models and describing one."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RegistryDep
from app.api.responses import errors
from app.schemas import ModelDetail, ModelSummary, SnapshotList, Timeline
from app.services.models import describe, summarize
from app.services.snapshots import snapshot_list, timeline_of
from app.services.selection import find_model

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get("", response_model=list[ModelSummary], summary="List the served models")
def list_models(registry: RegistryDep) -> list[dict]:
    return [summarize(loaded, registry) for loaded in registry.models.values()]


@router.get("/{name}", response_model=ModelDetail, responses=errors(404, 422),
            summary="One model: architecture, vocabulary, training details, losses and model card")
def get_model(name: str, registry: RegistryDep) -> dict:
    return describe(find_model(registry, name), registry)


@router.get("/{name}/snapshots", response_model=SnapshotList,
            responses=errors(404, 422, (503, "The model's snapshot index cannot be read")),
            summary="The training steps whose weights the model kept, with characters seen and validation bits/char")
def get_snapshots(name: str, registry: RegistryDep) -> dict:
    return snapshot_list(find_model(registry, name))


@router.get("/{name}/timeline", response_model=Timeline,
            responses=errors((404, "Unknown model, or a model without a timeline; the message says which and how to "
                                   "build one"), 422, (503, "The model's snapshot index cannot be read")),
            summary="Every hypothesis's best unit and the final unit's score at each training snapshot")
def get_timeline(name: str, registry: RegistryDep) -> dict:
    return timeline_of(find_model(registry, name))
