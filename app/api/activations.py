"""Per-character activations of a text, as one JSON document or as a stream of lines."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.concurrency import get_compute_slots
from app.registry import ModelRegistry, get_registry
from app.schemas import ActivationsRequest, ActivationsResponse, ErrorResponse
from app.services.activations import check_size, collect, ndjson_lines
from app.services.selection import find_model, resolve_selection
from app.settings import Settings, get_settings

router = APIRouter(prefix="/api/activations", tags=["activations"])

ERRORS = {404: {"model": ErrorResponse, "description": "Unknown model"},
          413: {"model": ErrorResponse, "description": "Text longer than the limit"},
          422: {"model": ErrorResponse, "description": "Invalid layer, state, units or field"}}


def _prepare(request: ActivationsRequest, registry: ModelRegistry, settings: Settings):
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    check_size(request.text, len(selection.units), settings)
    return loaded, selection


@router.post("", response_model=ActivationsResponse, response_model_exclude_none=True, responses=ERRORS,
             summary="Activations of one state for every character of a text")
async def activations(request: ActivationsRequest, registry: ModelRegistry = Depends(get_registry),
                      settings: Settings = Depends(get_settings), turn=Depends(get_compute_slots)) -> dict:
    loaded, selection = _prepare(request, registry, settings)
    # torch work runs in a worker thread so the event loop keeps serving other requests
    return await run_in_threadpool(collect, loaded, request.text, selection, request.topk, request.bits, turn)


@router.post("/stream", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}},
             "description": "First line: metadata {model, layer, state, name, units, length, unknown}; then one line "
                            "per character {i, char, values[, top][, bits]}, flushed as computed."}},
             summary="The same activations streamed as NDJSON, one line per character")
def activations_stream(request: ActivationsRequest, registry: ModelRegistry = Depends(get_registry),
                       settings: Settings = Depends(get_settings), turn=Depends(get_compute_slots)) -> StreamingResponse:
    loaded, selection = _prepare(request, registry, settings)
    lines = ndjson_lines(loaded, request.text, selection, request.topk, request.bits, turn)
    return StreamingResponse(lines, media_type="application/x-ndjson")  # a sync iterator runs in a worker thread
