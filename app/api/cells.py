"""Automatically found cells: stored rankings, ranking on the fly, unit reports, gate saturation."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import RankSlotDep, RegistryDep, SettingsDep
from app.api.responses import BODY, errors
from app.cells.hypotheses import HYPOTHESES
from app.schemas import CellEntry, HypothesisInfo, ProbeEntry, RankRequest, SaturationResponse, UnitReport
from app.services.cells import (find_store, rank_on_the_fly, saturation_report, stored_cells, stored_probes,
                                unit_report)
from app.services.selection import find_model

router = APIRouter(prefix="/api", tags=["cells"])
NO_ANALYSIS = (404, "Unknown model (the message names the available ones), or a model without a stored cell "
                    "analysis (the message says how to build it)")
STORED = errors(NO_ANALYSIS, 422)
OnlyHypothesis = Annotated[str | None, Query(description="Only this hypothesis")]


@router.get("/hypotheses", response_model=list[HypothesisInfo],
            summary="The built-in hypotheses units are scored against")
def hypotheses() -> list[dict]:
    return [{"name": h.name, "value_type": h.value_type, "description": h.description} for h in HYPOTHESES.values()]


@router.get("/models/{name}/cells", response_model=list[CellEntry], response_model_exclude_none=True,
            responses=STORED, summary="The stored ranking: the best units for each hypothesis, best first")
def get_cells(name: str, registry: RegistryDep, hypothesis: OnlyHypothesis = None,
              limit: Annotated[int | None, Query(ge=1, le=100, description="At most this many units per hypothesis")]
              = None) -> list[dict]:
    find_model(registry, name)
    return stored_cells(find_store(registry, name), hypothesis, limit)


@router.get("/models/{name}/probes", response_model=list[ProbeEntry], responses=STORED,
            summary="Linear probes: how well all units of each layer and state together predict each hypothesis")
def get_probes(name: str, registry: RegistryDep, hypothesis: OnlyHypothesis = None) -> list[dict]:
    """When no single unit matches a hypothesis, the model may still carry it spread over many
    units. For every layer and state, a ridge regression from all its units to the hypothesis is
    fitted on the first half of the held-out sample and scored on the second half, beside the best
    single unit of that state on the same halves. Best first within each hypothesis."""
    find_model(registry, name)
    return stored_probes(find_store(registry, name), name, hypothesis)


@router.post("/models/{name}/cells", response_model=list[CellEntry], response_model_exclude_none=True,
             responses=errors(*BODY, 404, (413, "Ranking text longer than the limit; the message gives the limit"),
                              (503, "Every ranking slot stayed busy for the configured wait; try again shortly")),
             summary="Rank every unit against one hypothesis or regular expression, now")
def post_cells(name: str, request: RankRequest, registry: RegistryDep, settings: SettingsDep,
               rank_slot: RankSlotDep) -> list[dict]:
    loaded = find_model(registry, name)
    with rank_slot:
        return rank_on_the_fly(loaded, registry.cells.get(name), request, settings.max_rank_chars)


@router.get("/models/{name}/units/{layer}/{state}/{unit}", response_model=UnitReport, responses=STORED,
            summary="One unit: its hypothesis scores, top examples, gate saturation, direct output effect")
def get_unit(name: str, layer: int, state: str, unit: int, registry: RegistryDep) -> dict:
    loaded = find_model(registry, name)
    return unit_report(loaded, find_store(registry, name), layer, state, unit)


@router.get("/models/{name}/saturation", response_model=SaturationResponse, responses=STORED,
            summary="Left (< 0.1) and right (> 0.9) saturation of every sigmoid gate unit on the sample")
def get_saturation(name: str, registry: RegistryDep) -> dict:
    loaded = find_model(registry, name)
    return saturation_report(loaded, find_store(registry, name))
