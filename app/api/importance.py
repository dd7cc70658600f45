"""Unit importance for a target: which units of a state the model needs to predict some characters."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ComputeSlotDep, RankSlotDep, RegistryDep, SettingsDep
from app.api.responses import errors
from app.schemas import ImportanceRequest, ImportanceResponse, Selection
from app.services.cells import find_store
from app.services.importance import prepare, rank
from app.services.selection import find_model, resolve_selection

router = APIRouter(prefix="/api/models", tags=["cells"])

ERRORS = errors(400, (404, "Unknown model (the message names the available ones), or a model without a stored "
                           "cell analysis (the message says how to build it)"),
                (413, "Text longer than the ranking limit; the message gives the limit"),
                (422, "A field of the wrong type, out of range, unknown or missing; or not exactly one of "
                      "hypothesis and regex, an unknown or numeric hypothesis, a bad regex, a text where no "
                      "character or every character is a target, an unknown layer or state, an analysis without "
                      "unit means. The message says which and what is allowed"),
                (503, "Every ranking slot stayed busy for the configured wait; try again shortly"))


@router.post("/{name}/importance", response_model=ImportanceResponse, responses=ERRORS,
             summary="Rank every unit of a state by how much its mean ablation hurts the prediction of the target "
                     "characters more than the others: a one-pass estimate, the best ones confirmed exactly")
def post_importance(name: str, request: ImportanceRequest, registry: RegistryDep, settings: SettingsDep,
                    rank_slot: RankSlotDep, compute_slot: ComputeSlotDep) -> dict:
    loaded = find_model(registry, name)
    store = find_store(registry, name)
    selection = resolve_selection(loaded, Selection(layer=request.layer, state=request.state))  # all units
    text, is_target = prepare(loaded, store, request.target, request.text, settings.max_rank_chars)
    with rank_slot:  # the backward pass holds a few hundred MB, as a ranking does
        return rank(loaded, store, selection, text, is_target, request.confirm, compute_slot)
