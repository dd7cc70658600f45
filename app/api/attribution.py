"""Which earlier characters one prediction depends on, and how far back a model remembers."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ComputeSlotDep, RegistryDep, SettingsDep, SnapshotCacheDep
from app.api.responses import errors
from app.schemas import AttributionRequest, AttributionResponse, MemoryReach
from app.services.attribution import attribute, memory_of
from app.services.selection import find_model
from app.services.snapshots import model_at

router = APIRouter(prefix="/api", tags=["attribution"])


@router.post("/attribution", response_model=AttributionResponse,
             responses=errors(400, 404, 413,
                              (422, "A field of the wrong type, out of range, unknown or missing; a position outside "
                                    "the text, a target (or next character) outside the model's vocabulary, the last "
                                    "position without a target, a window over the limit. The message says which "
                                    "and what is allowed; a snapshot step the model did not keep"),
                              (503, "The requested snapshot's weights cannot be read")),
             summary="Which earlier characters a prediction depends on: the bits it loses when each of them is "
                     "occluded (or gradient x input, its cheaper estimate)")
def post_attribution(request: AttributionRequest, registry: RegistryDep, settings: SettingsDep,
                     snapshots: SnapshotCacheDep, compute_slot: ComputeSlotDep) -> dict:
    loaded = model_at(find_model(registry, request.model), request.snapshot, snapshots)
    return attribute(loaded, request, settings, compute_slot)


@router.get("/models/{name}/memory", response_model=MemoryReach,
            responses=errors((404, "Unknown model, or a model without a stored memory reach; the message says "
                                   "which and how to build it"), 422,
                             (503, "The model's memory.json cannot be read")),
            summary="How far back the model remembers: the occlusion effect and the gradient by distance")
def get_memory(name: str, registry: RegistryDep) -> dict:
    return memory_of(find_model(registry, name))
