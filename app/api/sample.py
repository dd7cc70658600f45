"""Generating text from a model, streamed with the activations of each generated character."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from app.concurrency import get_compute_slots
from app.registry import ModelRegistry, get_registry
from app.schemas import ErrorResponse, SampleRequest
from app.services.sampling import sample_lines
from app.services.selection import find_model, resolve_selection

router = APIRouter(prefix="/api/sample", tags=["sampling"])


@router.post("", responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
                            200: {"content": {"application/x-ndjson": {}},
                                  "description": "First line: metadata; then one line per generated character "
                                                 "{i, char, values, p}."}},
             summary="Sample text and stream each character with its activations (NDJSON)")
def sample_text(request: SampleRequest, registry: ModelRegistry = Depends(get_registry),
                turn=Depends(get_compute_slots)) -> StreamingResponse:
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    return StreamingResponse(sample_lines(loaded, request, selection, turn), media_type="application/x-ndjson")
