"""Select and match (LSTMVis's brush): the units on across a span, every other span where they are on together,
and the units of another model most like one unit."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ComputeSlotDep, RegistryDep, SettingsDep
from app.api.responses import errors
from app.schemas import CompareRequest, CompareResponse, MatchRequest, MatchResponse, SelectRequest, SelectResponse
from app.services.compare import compare_units
from app.services.match import match, select
from app.services.selection import find_model

router = APIRouter(prefix="/api", tags=["match"])

NOT_BUILT = (404, "Unknown model (the message names the available ones), or a model without select-and-match "
                  "thresholds (the message says how to build them)")
TOO_LONG = (413, "Text longer than the limit, or more values (characters x searched units) than the limit; the "
                 "message gives the limit")
SPAN = ("A field of the wrong type, out of range, unknown or missing; or a span outside the text or empty, a state "
        "that is not searched (h, c or all are), a layer out of range, an unknown track hypothesis")


@router.post("/models/{name}/select", response_model=SelectResponse, response_model_exclude_none=True,
             responses=errors(400, NOT_BUILT, TOO_LONG, (422, SPAN + ". The message says which and what is allowed")),
             summary="The units on across a span of a text (high or low against their own percentiles), and how "
                     "many pass at each threshold")
def post_select(name: str, request: SelectRequest, registry: RegistryDep, settings: SettingsDep,
                compute_slot: ComputeSlotDep) -> dict:
    return select(find_model(registry, name), request, settings, compute_slot)


@router.post("/models/{name}/match", response_model=MatchResponse, response_model_exclude_none=True,
             responses=errors(400, NOT_BUILT, TOO_LONG,
                              (422, SPAN + "; neither or both of a span and units, a unit that is not in a searched "
                                    "state or out of range, in_text without a text. The message says which and "
                                    "what is allowed")),
             summary="The spans of the held-out sample (and the text) where the selected units are on together, "
                     "ranked by the Jaccard overlap of their on-sets with a length penalty, and the built-in "
                     "hypothesis that agrees best")
def post_match(name: str, request: MatchRequest, registry: RegistryDep, settings: SettingsDep,
               compute_slot: ComputeSlotDep) -> dict:
    return match(find_model(registry, name), request, settings, compute_slot)


@router.post("/compare", response_model=CompareResponse,
             responses=errors(400, (404, "Unknown model; the message names the available ones"), TOO_LONG,
                              (422, "A field of the wrong type, out of range, unknown or missing; or a layer, state "
                                    "or unit model_a (or model_b) does not have, a text with characters outside a "
                                    "model's vocabulary (the message names them and the models that share "
                                    "model_a's), model_a without a held-out sample and no text")),
             summary="The units of model_b whose activations correlate best with one unit of model_a on the same "
                     "text, and the linear CKA of two states")
def post_compare(request: CompareRequest, registry: RegistryDep, settings: SettingsDep,
                 compute_slot: ComputeSlotDep) -> dict:
    return compare_units(find_model(registry, request.model_a), find_model(registry, request.model_b), request,
                         registry, settings, compute_slot)
