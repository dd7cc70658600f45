"""Select and match (POST /api/models/{name}/select and /match): the units on across a span of a text,
and the spans of the model's held-out sample (and the text) where they are on together (app/cells/spans.py)."""
from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache

import numpy as np

from app.cells.hypotheses import BINARY, HYPOTHESES
from app.cells.match import INDEX_CACHE, MAX_THRESHOLD, MIN_THRESHOLD, STEP, STORES, MatchStore, codes, exact_states, indexed_states
from app.cells.ranking import exact_auroc, pearson
from app.cells.spans import Selected, Unit, match_spans, mean_signal, select_units, threshold_counts
from app.engine.checkpoint import LoadedModel
from app.engine.names import StateName
from app.errors import InputError
from app.schemas import MatchRequest, SpanSelection

GRID = [float(t) for t in range(55, 100, 1)]  # the thresholds the select response counts units at
DEFAULT_UNITS_LENGTH = 20  # the length penalty's target when units are given without a span
AGREEMENT_TOP = 5
DECIMALS = 3
# codes are computed, not sent: a text may hold this many times the values a response may carry
VALUES_PER_VALUE_SENT = 10
log = logging.getLogger("cellx.match")


def warm_up(models: list[LoadedModel]) -> threading.Thread:
    """Builds the sample index of the first models that have match thresholds, in a background thread.

    A model's first match otherwise waits for its whole sample to be read (35-50 s for austen-lstm on
    one core); started with the server, it is usually ready before anyone selects a span. Only as many
    as the index cache keeps, so nothing built here is dropped again at once.
    """
    def build() -> None:
        for loaded in [m for m in models if STORES.store(m) is not None][:INDEX_CACHE]:
            try:
                STORES.index(loaded, STORES.store(loaded))
                log.info("select and match: %s's sample index is ready", loaded.name)
            except (OSError, ValueError, RuntimeError) as exc:  # a request for the model will say what is wrong
                log.error("select and match: %s's sample index was not built: %s", loaded.name, exc)

    thread = threading.Thread(target=build, name="match-warm-up", daemon=True)
    thread.start()
    return thread


def match_store(loaded: LoadedModel) -> MatchStore:
    store = STORES.store(loaded)
    if store is None:
        raise InputError(404, f"model {loaded.name!r} has no select-and-match thresholds (or its sample.txt changed "
                              f"since they were built); build them: python -m app.cells.match models/{loaded.name}")
    return store


def searched_states(loaded: LoadedModel, layer: int | None, state: str | None) -> list[str]:
    cfg = loaded.model.config
    indexed = indexed_states(cfg.arch, cfg.n_layers)
    if state == "all":
        return indexed
    kinds = ["h", "c"] if cfg.arch == "lstm" else ["h"]
    state = state if state is not None else kinds[-1]
    if state not in kinds:
        raise InputError(422, f"state {state!r} is not searched by select and match; valid for a {cfg.arch} model: "
                              f"{', '.join(kinds)} or all")
    layer = cfg.n_layers - 1 if layer is None else layer
    if not 0 <= layer < cfg.n_layers:
        raise InputError(422, f"layer {layer} is out of range; {loaded.name} has layers 0 to {cfg.n_layers - 1}")
    return [str(StateName(layer, state))]


def check_span(text: str, start: int, end: int, settings) -> None:
    if len(text) > settings.max_text_length:
        raise InputError(413, f"text has {len(text):,} characters; the limit is {settings.max_text_length:,}")
    if start >= end:
        raise InputError(422, f"empty span: start {start} must be less than end {end}")
    if end > len(text):
        raise InputError(422, f"span {start}..{end} is outside the text: it has {len(text)} characters, so end "
                              f"may be at most {len(text)}")


def _threshold(request: SpanSelection, store: MatchStore) -> float:
    threshold = store.threshold if request.threshold is None else request.threshold
    return min(MAX_THRESHOLD, max(MIN_THRESHOLD, round(threshold / STEP) * STEP))  # the stored percentiles' grid


def _track_values(name: str | None, text: str) -> list[float] | None:
    if name is None:
        return None
    if name not in HYPOTHESES:
        raise InputError(422, f"unknown hypothesis {name!r} for the track; valid: {', '.join(HYPOTHESES)}")
    return np.round(HYPOTHESES[name].function(text).astype(np.float64), DECIMALS).tolist()


def _text_codes(loaded: LoadedModel, store: MatchStore, text: str, names: list[str], settings,
                compute_slot: AbstractContextManager) -> dict[str, np.ndarray]:
    """Codes of the searched units at every character of the text (the part a selection needs)."""
    n_units = len(names) * loaded.model.config.hidden_size
    if len(text) * n_units > VALUES_PER_VALUE_SENT * settings.max_values:  # float states held while they are coded
        raise InputError(413, f"{len(text):,} characters x {n_units} searched units = {len(text) * n_units:,} "
                              f"values; the limit is {VALUES_PER_VALUE_SENT * settings.max_values:,}: search one "
                              "state instead of all, or select in a shorter text")
    with compute_slot:
        states = exact_states(loaded.model, loaded.vocab.encode(text).ids, names)
    return {name: codes(states[name], store.quantiles[name]) for name in names}


def _listed(selected: list[Selected]) -> list[dict]:
    out = []
    for s in selected:
        parsed = StateName.parse(s.name)
        out.append({"layer": parsed.layer, "state": parsed.kind, "name": s.name, "unit": s.unit, "sign": s.sign,
                    **({"fraction": s.fraction, "strength": s.strength} if isinstance(s, Selected) else {})})
    return out


def select(loaded: LoadedModel, request: SpanSelection, settings,
           compute_slot: AbstractContextManager = nullcontext()) -> dict:
    store = match_store(loaded)
    names = searched_states(loaded, request.layer, request.state)
    check_span(request.text, request.start, request.end, settings)
    _track_values(request.track, "")  # an unknown hypothesis is refused before the model runs
    threshold = _threshold(request, store)
    # the model reads left to right: nothing after the span and its margin changes the selection
    text_codes = _text_codes(loaded, store, request.text[: request.end + request.after], names, settings,
                             compute_slot)
    margins = (request.fraction, request.before, request.after)
    units = select_units(text_codes, request.start, request.end, threshold, *margins)
    counts = threshold_counts(text_codes, request.start, request.end, GRID, *margins)
    track = _track_values(request.track, request.text)
    return {"model": loaded.name, "states": names, "threshold": threshold, "suggested_threshold": store.threshold,
            "units": _listed(units), "counts": [{"threshold": t, "units": n} for t, n in zip(GRID, counts)],
            **({"track": {"hypothesis": request.track, "values": track}} if track is not None else {})}


def _given_units(loaded: LoadedModel, request: MatchRequest, names: list[str]) -> list[Unit]:
    cfg = loaded.model.config
    out = []
    for index, u in enumerate(request.units):
        name = str(StateName(u.layer, u.state))
        if name not in indexed_states(cfg.arch, cfg.n_layers):
            raise InputError(422, f"units[{index}]: {name} is not searched by select and match; valid: "
                                  f"{', '.join(indexed_states(cfg.arch, cfg.n_layers))}")
        if not 0 <= u.unit < cfg.hidden_size:
            raise InputError(422, f"units[{index}]: unit {u.unit} out of range; {loaded.name} has units 0 to "
                                  f"{cfg.hidden_size - 1}")
        out.append(Unit(name, u.unit, u.sign))
    for name in sorted({u.name for u in out} - set(names)):
        names.append(name)  # a given unit's state is searched too
    return out


@lru_cache(maxsize=8)
def _hypotheses_on(text: str) -> dict[str, np.ndarray]:
    """Every built-in hypothesis on a whole text (the sample is searched again and again)."""
    return {h.name: np.asarray(h.function(text)) for h in HYPOTHESES.values()}


def _agreement(signal: np.ndarray, pieces: list[tuple[str, np.ndarray]], matched: np.ndarray) -> list[dict]:
    """Every built-in hypothesis scored against the selected set's signal over the matches' contexts, as the
    ranking scores units (AUROC for binary hypotheses, Pearson for numeric ones). `pieces` are (source text,
    positions) of the contexts: each hypothesis is evaluated on its whole source, so that a context starting
    inside a quotation is still inside it."""
    out = []
    for h in HYPOTHESES.values():
        values = np.concatenate([_hypotheses_on(text)[h.name][positions] for text, positions in pieces])
        if len(values) < 2 or np.all(values == values[0]):
            continue
        if h.value_type == BINARY:
            auroc = exact_auroc(signal, values.astype(bool))
            entry = {"metric": "auroc", "score": max(auroc, 1 - auroc), "sign": 1 if auroc >= 0.5 else -1,
                     "inside": round(float(values[matched].mean()), DECIMALS)}
        else:
            r = pearson(signal.astype(np.float64), values.astype(np.float64))
            entry = {"metric": "pearson", "score": abs(r), "sign": 1 if r >= 0 else -1}
        out.append({"hypothesis": h.name, **entry, "score": round(float(entry["score"]), 4)})
    out.sort(key=lambda e: -e["score"])
    return out[:AGREEMENT_TOP]


def match(loaded: LoadedModel, request: MatchRequest, settings,
          compute_slot: AbstractContextManager = nullcontext()) -> dict:
    store = match_store(loaded)
    names = searched_states(loaded, request.layer, request.state)
    has_span = request.start is not None or request.end is not None
    if (request.units is not None) == has_span:
        raise InputError(422, 'give either a span ("text", "start" and "end") or "units", not both')
    if has_span and (request.text is None or request.start is None or request.end is None):
        raise InputError(422, 'a span needs "text", "start" and "end"')
    if request.in_text and request.text is None:
        raise InputError(422, 'in_text searches the sent text: send "text" as well')
    if request.text is not None and len(request.text) > settings.max_text_length:
        raise InputError(413, f"text has {len(request.text):,} characters; the limit is {settings.max_text_length:,}")
    if has_span:
        check_span(request.text, request.start, request.end, settings)
    _track_values(request.track, "")
    threshold = _threshold(request, store)
    given = _given_units(loaded, request, names) if request.units is not None else None
    read = None if request.text is None else request.text if request.in_text else (
        request.text[: request.end + request.after] if has_span else None)
    text_codes = _text_codes(loaded, store, read, names, settings, compute_slot) if read is not None else None
    if given is None:
        units: list[Unit] = select_units(text_codes, request.start, request.end, threshold, request.fraction,
                                         request.before, request.after)
        length = request.length or request.end - request.start
    else:
        units, length = given, request.length or DEFAULT_UNITS_LENGTH
    # The first match of a model computes its index (match.py: about half a minute for a 2 x 512 LSTM), outside
    # the compute slot: holding it that long would stall every other request's text in the meantime.
    index = STORES.index(loaded, store)
    sources = [("sample", store.sample, {n: index[n] for n in names}, None)]
    if request.in_text:
        sources.append(("text", request.text, text_codes, (request.start, request.end) if has_span else None))
    found = []
    for source, text, source_codes, exclude in sources:
        for f in match_spans(source_codes, units, threshold, length, request.fraction, request.top,
                             request.length_weight, exclude):
            found.append((f, source, text, source_codes))
    found.sort(key=lambda item: (-item[0].score, item[1], item[0].start))
    found = found[: request.top]
    return _answer(loaded, request, names, threshold, units, found)


def _answer(loaded, request, names, threshold, units, found) -> dict:
    matches, signals, pieces, matched = [], [], [], []
    for f, source, text, source_codes in found:
        lo, hi = max(0, f.start - request.context), min(len(text), f.end + request.context)
        signal = mean_signal(source_codes, units, lo, hi)
        positions = np.arange(lo, hi)
        signals.append(signal)
        pieces.append((text, positions))
        matched.append((positions >= f.start) & (positions < f.end))
        matches.append({"source": source, "start": f.start, "end": f.end, "score": f.score, "jaccard": f.jaccard,
                        "context": text[lo:hi], "context_start": lo,
                        "values": np.round(signal.astype(np.float64), DECIMALS).tolist()})
    hypotheses = _agreement(np.concatenate(signals), pieces, np.concatenate(matched)) if found else []
    track = request.track or (hypotheses[0]["hypothesis"] if hypotheses else None)
    if track is not None:
        for item, (text, positions) in zip(matches, pieces):
            item["track"] = np.round(_hypotheses_on(text)[track][positions].astype(np.float64), DECIMALS).tolist()
    return {"model": loaded.name, "states": names, "threshold": threshold, "units": _listed(units),
            "matches": matches, "hypotheses": hypotheses,
            "best_hypothesis": hypotheses[0]["hypothesis"] if hypotheses else None, "track": track}
