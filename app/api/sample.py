"""Generating text from a model, streamed with the activations of each generated character."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.activations import RETRY_AFTER
from app.api.deps import BatcherDep, RegistryDep, SnapshotCacheDep
from app.api.responses import BODY, FULL, errors
from app.schemas import SampleRequest
from app.services.sampling import open_sample, sample_lines
from app.services.selection import find_model, resolve_selection
from app.services.snapshots import model_at

router = APIRouter(prefix="/api/sample", tags=["sampling"])

ERRORS = errors(*BODY, 404, (503, f"The requested snapshot's weights cannot be read, or {FULL}"))
ERRORS[503]["headers"] = RETRY_AFTER


@router.post("", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}},
                                            "description": "First line: metadata; then one line per generated "
                                                           "character {i, char, values, p}."}},
             summary="Sample text and stream each character with its activations (NDJSON)")
async def sample_text(request: SampleRequest, registry: RegistryDep, batcher: BatcherDep,
                      cache: SnapshotCacheDep) -> StreamingResponse:
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    loaded = model_at(loaded, request.snapshot, cache)
    stream = open_sample(batcher, loaded, request, selection)  # a 503 before any line
    return StreamingResponse(sample_lines(stream, loaded, request, selection), media_type="application/x-ndjson")
