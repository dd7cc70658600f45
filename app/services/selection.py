"""Turning a request's model / layer / state / units into a validated selection."""
from __future__ import annotations

from dataclasses import dataclass

from app.engine.checkpoint import LoadedModel
from app.engine.names import StateName, state_kinds
from app.errors import InputError
from app.registry import ModelRegistry
from app.schemas import Selection


@dataclass(frozen=True)
class ResolvedSelection:
    layer: int
    state: str  # the state's kind within the layer, e.g. "c" or "gates.f"
    units: list[int]

    @property
    def name(self) -> str:
        return str(StateName(self.layer, self.state))


def short_state_names(loaded: LoadedModel) -> list[str]:
    """The state kinds of every layer of the model, e.g. ["h", "gates.r", "gates.z", "gates.n"]."""
    return state_kinds(loaded.model.config.arch)


def find_model(registry: ModelRegistry, name: str) -> LoadedModel:
    loaded = registry.models.get(name)
    if loaded is None:
        available = ", ".join(registry.names()) or "none loaded"
        raise InputError(404, f"unknown model {name!r}; available models: {available}")
    return loaded


def resolve_selection(loaded: LoadedModel, selection: Selection) -> ResolvedSelection:
    cfg = loaded.model.config
    layer = cfg.n_layers - 1 if selection.layer is None else selection.layer
    if not 0 <= layer < cfg.n_layers:
        raise InputError(422, f"layer {layer} is out of range; {loaded.name} has layers 0 to {cfg.n_layers - 1}")
    valid_states = short_state_names(loaded)
    state = selection.state if selection.state is not None else ("c" if cfg.arch == "lstm" else "h")
    if state not in valid_states:
        raise InputError(422, f"unknown state {state!r} for a {cfg.arch} model; valid states: {', '.join(valid_states)}")
    if selection.units is None:
        units = list(range(cfg.hidden_size))
    else:
        bad = [u for u in selection.units if not 0 <= u < cfg.hidden_size]
        if bad:
            raise InputError(422, f"units {bad} out of range; {loaded.name} has units 0 to {cfg.hidden_size - 1}")
        if not selection.units:
            raise InputError(422, "units is empty; give at least one unit index or null for all units")
        units = list(selection.units)
    return ResolvedSelection(layer=layer, state=state, units=units)
