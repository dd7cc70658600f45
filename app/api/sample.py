"""Generating text from a model, streamed with the activations of each generated character."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import ComputeSlotDep, RegistryDep, SnapshotCacheDep
from app.api.responses import BODY, errors
from app.schemas import SampleRequest
from app.services.sampling import sample_lines
from app.services.selection import find_model, resolve_selection
from app.services.snapshots import model_at

router = APIRouter(prefix="/api/sample", tags=["sampling"])


@router.post("", responses={**errors(*BODY, 404, (503, "The requested snapshot's weights cannot be read")),
                            200: {"content": {"application/x-ndjson": {}},
                                  "description": "First line: metadata; then one line per generated character "
                                                 "{i, char, values, p}."}},
             summary="Sample text and stream each character with its activations (NDJSON)")
def sample_text(request: SampleRequest, registry: RegistryDep, compute_slot: ComputeSlotDep,
                cache: SnapshotCacheDep) -> StreamingResponse:
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    loaded = model_at(loaded, request.snapshot, cache)
    return StreamingResponse(sample_lines(loaded, request, selection, compute_slot), media_type="application/x-ndjson")
