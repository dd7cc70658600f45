"""Per-character activations of a text, as one JSON document or as a stream of lines."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import BatcherDep, RegistryDep, SettingsDep, SnapshotCacheDep
from app.api.responses import BODY, FULL, errors
from app.engine.snapshots import SnapshotCache
from app.registry import ModelRegistry
from app.schemas import ActivationsRequest, ActivationsResponse
from app.services.activations import check_size, collect, ndjson_lines, open_stream
from app.services.selection import find_model, resolve_selection
from app.services.snapshots import model_at
from app.settings import Settings

router = APIRouter(prefix="/api/activations", tags=["activations"])

ERRORS = errors(*BODY, 404, (413, "Text longer than the limit, or more values (characters x units) than the "
                                  "limit; the message gives the limit"),
                (503, f"The requested snapshot's weights cannot be read, or {FULL}"))
RETRY_AFTER = {"Retry-After": {"description": "With a 503 for a full server: seconds to wait before trying again",
                               "schema": {"type": "integer"}}}
ERRORS[503]["headers"] = RETRY_AFTER


def _prepare(request: ActivationsRequest, registry: ModelRegistry, settings: Settings, cache: SnapshotCache):
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    check_size(request.text, len(selection.units), settings)
    return model_at(loaded, request.snapshot, cache), selection


@router.post("", response_model=ActivationsResponse, response_model_exclude_none=True, responses=ERRORS,
             summary="Activations of one state for every character of a text")
async def activations(request: ActivationsRequest, registry: RegistryDep, settings: SettingsDep,
                      batcher: BatcherDep, cache: SnapshotCacheDep, http: Request) -> Response:
    loaded, selection = _prepare(request, registry, settings, cache)
    encoded = loaded.vocab.encode(request.text)
    stream = open_stream(batcher, loaded, encoded, selection, request.topk, request.bits)
    body = await collect(stream, loaded, request.text, encoded, selection, request.topk, request.bits,
                         http.is_disconnected)
    # written by the service with orjson in the ActivationsResponse shape (None fields left out, as documented)
    return Response(body or b"", media_type="application/json")


@router.post("/stream", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}},
             "description": "First line: metadata {model, layer, state, name, units, length, unknown}; then one line "
                            "per character {i, char, values[, top][, bits]}, flushed as computed. A failure after "
                            "the first line ends the stream with one line {error}."}},
             summary="The same activations streamed as NDJSON, one line per character")
async def activations_stream(request: ActivationsRequest, registry: RegistryDep, settings: SettingsDep,
                             batcher: BatcherDep, cache: SnapshotCacheDep) -> StreamingResponse:
    loaded, selection = _prepare(request, registry, settings, cache)
    encoded = loaded.vocab.encode(request.text)
    stream = open_stream(batcher, loaded, encoded, selection, request.topk, request.bits)  # a 503 before any line
    lines = ndjson_lines(stream, loaded, request.text, encoded, selection, request.topk, request.bits)
    return StreamingResponse(lines, media_type="application/x-ndjson")  # closed by a disconnect: the stream stops
