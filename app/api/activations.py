"""Per-character activations of a text, as one JSON document or as a stream of lines."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.api.deps import ComputeSlotDep, RegistryDep, SettingsDep, SnapshotCacheDep
from app.api.responses import BODY, errors
from app.engine.snapshots import SnapshotCache
from app.registry import ModelRegistry
from app.schemas import ActivationsRequest, ActivationsResponse
from app.services.activations import check_size, collect, ndjson_lines
from app.services.selection import find_model, resolve_selection
from app.services.snapshots import model_at
from app.settings import Settings

router = APIRouter(prefix="/api/activations", tags=["activations"])

ERRORS = errors(*BODY, 404, (413, "Text longer than the limit, or more values (characters x units) than the "
                                  "limit; the message gives the limit"),
                (503, "The requested snapshot's weights cannot be read"))


def _prepare(request: ActivationsRequest, registry: ModelRegistry, settings: Settings, cache: SnapshotCache):
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    check_size(request.text, len(selection.units), settings)
    return model_at(loaded, request.snapshot, cache), selection


@router.post("", response_model=ActivationsResponse, response_model_exclude_none=True, responses=ERRORS,
             summary="Activations of one state for every character of a text")
async def activations(request: ActivationsRequest, registry: RegistryDep, settings: SettingsDep,
                      compute_slot: ComputeSlotDep, cache: SnapshotCacheDep) -> dict:
    loaded, selection = _prepare(request, registry, settings, cache)
    # torch work runs in a worker thread so the event loop keeps serving other requests
    return await run_in_threadpool(collect, loaded, request.text, selection, request.topk, request.bits, compute_slot)


@router.post("/stream", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}},
             "description": "First line: metadata {model, layer, state, name, units, length, unknown}; then one line "
                            "per character {i, char, values[, top][, bits]}, flushed as computed. A failure after "
                            "the first line ends the stream with one line {error}."}},
             summary="The same activations streamed as NDJSON, one line per character")
def activations_stream(request: ActivationsRequest, registry: RegistryDep, settings: SettingsDep,
                       compute_slot: ComputeSlotDep, cache: SnapshotCacheDep) -> StreamingResponse:
    loaded, selection = _prepare(request, registry, settings, cache)
    lines = ndjson_lines(loaded, request.text, selection, request.topk, request.bits, compute_slot)
    return StreamingResponse(lines, media_type="application/x-ndjson")  # a sync iterator runs in a worker thread
