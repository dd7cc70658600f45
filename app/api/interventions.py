"""A text read with and without interventions inside the recurrence: what the model predicts differently."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from app.api.deps import ComputeSlotDep, RegistryDep, SettingsDep
from app.api.responses import errors
from app.engine import interventions as engine
from app.schemas import InterventionsRequest, InterventionsResponse
from app.services.interventions import check_interventions, compare
from app.services.selection import find_model, resolve_selection

router = APIRouter(prefix="/api/interventions", tags=["interventions"])

ERRORS = errors(400, 404, (413, "Text longer than the limit, or more values (characters x units x 2 passes) "
                                "than the limit; the message gives the limit"),
                (422, "A field of the wrong type, out of range, unknown or missing; or an intervention that does "
                      "not fit the model or the text: unknown layer, state or unit, a clamp without a value, a "
                      "value for zero or mean, a span outside the text or with start >= end, too many "
                      "interventions, mean on a model without stored unit means. The message says which and what "
                      "is allowed"))


@router.post("", response_model=InterventionsResponse, response_model_exclude_none=True, responses=ERRORS,
             summary="Ablate, clamp or steer units inside the recurrence: per character, the surprisal, the "
                     "predictions and the selected values with and without")
async def interventions(request: InterventionsRequest, registry: RegistryDep, settings: SettingsDep,
                        compute_slot: ComputeSlotDep) -> dict:
    loaded = find_model(registry, request.model)
    selection = resolve_selection(loaded, request)
    items = [engine.Intervention(**item.model_dump()) for item in request.interventions]
    means = check_interventions(loaded, registry.cells.get(loaded.name), request.text, items, selection, settings)
    # torch work runs in a worker thread so the event loop keeps serving other requests
    return await run_in_threadpool(compare, loaded, request.text, items, selection, request.topk, means,
                                   compute_slot)
