"""Automatically found cells: stored rankings, ranking on the fly, unit reports, gate saturation."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app.cells.hypotheses import HYPOTHESES
from app.errors import InputError
from app.registry import ModelRegistry, get_registry
from app.schemas import (CellEntry, ErrorResponse, HypothesisInfo, ProbeEntry, RankRequest, SaturationResponse,
                         UnitReport)
from app.services.cells import (find_store, rank_on_the_fly, saturation_report, stored_cells, stored_probes,
                                unit_report)
from app.services.selection import find_model
from app.settings import Settings, get_settings

router = APIRouter(prefix="/api", tags=["cells"])
ERRORS = {404: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
          503: {"model": ErrorResponse, "description": "Every ranking slot is busy"}}


@router.get("/hypotheses", response_model=list[HypothesisInfo], summary="The built-in hypotheses units are scored against")
def hypotheses() -> list[dict]:
    return [{"name": h.name, "value_type": h.value_type, "description": h.description} for h in HYPOTHESES.values()]


@router.get("/models/{name}/cells", response_model=list[CellEntry], response_model_exclude_none=True,
            responses=ERRORS, summary="The stored ranking: the best units for each hypothesis, best first")
def get_cells(name: str, hypothesis: str | None = Query(None, description="Only this hypothesis"),
              limit: int | None = Query(None, ge=1, le=100, description="At most this many units per hypothesis"),
              registry: ModelRegistry = Depends(get_registry)) -> list[dict]:
    find_model(registry, name)
    return stored_cells(find_store(registry, name), hypothesis, limit)


@router.get("/models/{name}/probes", response_model=list[ProbeEntry], responses=ERRORS,
            summary="Linear probes: how well all units of each layer and state together predict each hypothesis")
def get_probes(name: str, hypothesis: str | None = Query(None, description="Only this hypothesis"),
               registry: ModelRegistry = Depends(get_registry)) -> list[dict]:
    """When no single unit matches a hypothesis, the model may still carry it spread over many
    units. For every layer and state, a ridge regression from all its units to the hypothesis is
    fitted on the first half of the held-out sample and scored on the second half, beside the best
    single unit of that state on the same halves. Best first within each hypothesis."""
    find_model(registry, name)
    return stored_probes(find_store(registry, name), name, hypothesis)


@router.post("/models/{name}/cells", response_model=list[CellEntry], response_model_exclude_none=True,
             responses=ERRORS, summary="Rank every unit against one hypothesis or regular expression, now")
def post_cells(name: str, request: RankRequest, http_request: Request, registry: ModelRegistry = Depends(get_registry),
               settings: Settings = Depends(get_settings)) -> list[dict]:
    loaded = find_model(registry, name)
    slots = http_request.app.state.rank_slots
    if not slots.acquire(timeout=settings.rank_wait_s):
        raise InputError(503, f"busy: {settings.rank_slots} ranking(s) already running; try again shortly")
    try:
        return rank_on_the_fly(loaded, registry.cells.get(name), request, settings.max_rank_chars)
    finally:
        slots.release()


@router.get("/models/{name}/units/{layer}/{state}/{unit}", response_model=UnitReport, responses=ERRORS,
            summary="One unit: its scores against every hypothesis, top examples, gate saturation")
def get_unit(name: str, layer: int, state: str, unit: int, registry: ModelRegistry = Depends(get_registry)) -> dict:
    loaded = find_model(registry, name)
    return unit_report(loaded, find_store(registry, name), layer, state, unit)


@router.get("/models/{name}/saturation", response_model=SaturationResponse, responses=ERRORS,
            summary="Left (< 0.1) and right (> 0.9) saturation of every sigmoid gate unit on the sample")
def get_saturation(name: str, registry: ModelRegistry = Depends(get_registry)) -> dict:
    loaded = find_model(registry, name)
    return saturation_report(loaded, find_store(registry, name))
