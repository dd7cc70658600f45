"""A text read with and without interventions inside the recurrence: what the model predicts differently."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from app.api.activations import RETRY_AFTER
from app.api.deps import BatcherDep, RegistryDep, SettingsDep, SnapshotCacheDep
from app.api.responses import FULL, errors
from app.engine import interventions as engine
from app.schemas import InterventionsRequest, InterventionsResponse, SteeringRequest, SteeringResponse
from app.services.interventions import check_interventions, compare
from app.services.selection import find_model, resolve_selection
from app.services.snapshots import model_at
from app.services.steering import check_steering, open_steering, steer

router = APIRouter(prefix="/api/interventions", tags=["interventions"])

ERRORS = errors(400, 404, (413, "Text longer than the limit, or more values (characters x units x 2 passes) "
                                "than the limit; the message gives the limit"),
                (422, "A field of the wrong type, out of range, unknown or missing; or an intervention that does "
                      "not fit the model or the text: unknown layer, state or unit, a clamp without a value, a "
                      "value for zero or mean, a span outside the text or with start >= end, too many "
                      "interventions, mean on a model without stored unit means or with a snapshot, a snapshot "
                      "the model lacks. The message says which and what is allowed"),
                (503, f"The requested snapshot's weights cannot be read, or {FULL}"))
STEERING_ERRORS = errors(400, 404, (413, "More values (characters x units x 2 samples) than the limit; the "
                                         "message gives the limit"),
                         (422, "A field of the wrong type, out of range, unknown or missing; or an intervention "
                               "that does not fit the model or the sample's length (its span counts generated "
                               "positions), as for POST /api/interventions. The message says which and what is "
                               "allowed"),
                         (503, f"The requested snapshot's weights cannot be read, or {FULL}"))
ERRORS[503]["headers"] = STEERING_ERRORS[503]["headers"] = RETRY_AFTER


def _resolved(request, registry, cache):
    """The model (at the request's snapshot), the selection, the interventions and the final model's stored
    analysis (its unit means), shared by the three routes."""
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    items = [engine.Intervention(**item.model_dump()) for item in request.interventions]
    store = registry.cells.get(loaded.name)
    return model_at(loaded, request.snapshot, cache), selection, items, store


@router.post("", response_model=InterventionsResponse, response_model_exclude_none=True, responses=ERRORS,
             summary="Ablate, clamp or steer units inside the recurrence: per character, the surprisal, the "
                     "predictions and the selected values with and without")
async def interventions(request: InterventionsRequest, registry: RegistryDep, settings: SettingsDep,
                        batcher: BatcherDep, cache: SnapshotCacheDep, http: Request) -> Response:
    loaded, selection, items, store = _resolved(request, registry, cache)
    means = check_interventions(loaded, store, request.text, items, selection, settings, request.snapshot)
    body = await compare(batcher, loaded, request.text, items, selection, request.topk, means, http.is_disconnected)
    # written by the service with orjson in the InterventionsResponse shape (None fields left out, as documented)
    return Response(body or b"", media_type="application/json")


@router.post("/sample", response_model=SteeringResponse, responses=STEERING_ERRORS,
             summary="Steering: the same prime and seed sampled with and without interventions, side by side")
async def steered_sample(request: SteeringRequest, registry: RegistryDep, settings: SettingsDep,
                         batcher: BatcherDep, cache: SnapshotCacheDep) -> dict:
    loaded, selection, items, store = _resolved(request, registry, cache)
    means = check_steering(loaded, store, request, items, selection, settings)
    return await steer(batcher, loaded, request, items, selection, means)


@router.post("/sample/stream", responses={**STEERING_ERRORS, 200: {"content": {"application/x-ndjson": {}},
             "description": "First line: metadata {model, layer, state, name, units, prime, unknown, length}; then "
                            "one line per generated position {i, steered: {char, values, p}, plain: {char, values, "
                            "p}}, flushed as both are drawn."}},
             summary="The same two samples streamed as NDJSON, a pair of characters per line")
async def steered_sample_stream(request: SteeringRequest, registry: RegistryDep, settings: SettingsDep,
                                batcher: BatcherDep, cache: SnapshotCacheDep) -> StreamingResponse:
    loaded, selection, items, store = _resolved(request, registry, cache)
    means = check_steering(loaded, store, request, items, selection, settings)  # every refusal before the first line
    lines = open_steering(batcher, loaded, request, items, selection, means)  # a full server: 503, no line
    return StreamingResponse(lines, media_type="application/x-ndjson")  # closed by a disconnect: both rows freed
