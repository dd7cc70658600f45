"""Compare two models (POST /api/compare): the units of model_b most like one unit of model_a on the same text,
and the linear CKA of two of their states (app/cells/compare.py)."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from app.cells.compare import correlations, linear_cka
from app.cells.match import STORES, exact_states, indexed_states
from app.engine.checkpoint import LoadedModel
from app.engine.names import StateName
from app.errors import InputError
from app.registry import ModelRegistry
from app.schemas import CompareRequest

DEFAULT_CHARS = 20_000  # of model_a's held-out sample when no text is sent
DECIMALS = 4


def _state_of(loaded: LoadedModel, layer: int, state: str, which: str) -> str:
    cfg = loaded.model.config
    name = str(StateName(layer, state)) if layer >= 0 else ""
    valid = indexed_states(cfg.arch, cfg.n_layers)
    if name not in valid:
        raise InputError(422, f"{which}: {loaded.name} has no state layer {layer} {state!r} to compare; valid: "
                              f"{', '.join(valid)}")
    return name


def _check_vocabularies(a: LoadedModel, b: LoadedModel, text: str, registry: ModelRegistry) -> None:
    """Both models must read every character: an unknown one is no input at all to a char model."""
    unknown = sorted({ch for loaded in (a, b) for ch in text if ch not in loaded.vocab})
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                               else "")
        same = [name for name, other in registry.models.items()
                if name != a.name and other.vocab.chars == a.vocab.chars]
        raise InputError(422, f"the text has characters outside the vocabulary of {a.name} or {b.name}: {shown}; "
                              f"send a text both read, or compare {a.name} with a model of the same vocabulary: "
                              f"{', '.join(same) or 'none is served'}")


def _text(a: LoadedModel, request: CompareRequest, registry: ModelRegistry, settings) -> str:
    stored = registry.cells.get(a.name) or STORES.store(a)  # either has the held-out sample
    if request.text is not None:
        text = request.text
    elif stored is not None:
        text = stored.sample[:DEFAULT_CHARS]
    else:
        raise InputError(422, f"model {a.name!r} has no stored sample; send a text to compare on")
    if len(text) > settings.max_rank_chars:
        raise InputError(413, f"text has {len(text):,} characters; the limit is {settings.max_rank_chars:,}")
    return text


def compare_units(a: LoadedModel, b: LoadedModel, request: CompareRequest, registry: ModelRegistry, settings,
                  compute_slot: AbstractContextManager = nullcontext()) -> dict:
    name_a = _state_of(a, request.layer, request.state, "model_a")
    if not request.unit < a.model.config.hidden_size:
        raise InputError(422, f"unit {request.unit} out of range; {a.name} has units 0 to "
                              f"{a.model.config.hidden_size - 1}")
    cfg_b = b.model.config
    layer_b = min(request.layer, cfg_b.n_layers - 1) if request.layer_b is None else request.layer_b
    kinds_b = ["h", "c"] if cfg_b.arch == "lstm" else ["h"]
    state_b = request.state_b or (request.state if request.state in kinds_b else "h")
    cka_b = _state_of(b, layer_b, state_b, "model_b")
    text = _text(a, request, registry, settings)
    _check_vocabularies(a, b, text, registry)
    names_b = indexed_states(cfg_b.arch, cfg_b.n_layers)
    with compute_slot:
        states_a = exact_states(a.model, a.vocab.encode(text).ids, [name_a])
    with compute_slot:
        states_b = exact_states(b.model, b.vocab.encode(text).ids, names_b)
    x = states_a[name_a][:, request.unit]  # (n,)
    scored = []
    for name in names_b:
        r = correlations(x, states_b[name])  # (U,)
        parsed = StateName.parse(name)
        scored += [{"layer": parsed.layer, "state": parsed.kind, "name": name, "unit": u, "pearson": float(r[u])}
                   for u in range(len(r))]
    scored.sort(key=lambda s: -abs(s["pearson"]))
    best = [{**s, "pearson": round(s["pearson"], DECIMALS)} for s in scored[: request.top]]
    return {"model_a": a.name, "model_b": b.name, "name": name_a, "unit": request.unit, "chars": len(text),
            "units": best, "cka_a": name_a, "cka_b": cka_b,
            "cka": round(linear_cka(states_a[name_a], states_b[cka_b]), DECIMALS)}
