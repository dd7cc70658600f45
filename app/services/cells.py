"""Cell finding for the API: the stored ranking, ranking on the fly, and one unit's report."""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from app.cells.hypotheses import BINARY, HYPOTHESES, HypothesisValues, RegexError, RegexTimeout, regex_values
from app.cells.ranking import Score, rank_units
from app.cells.scan import scan
from app.cells.store import CellStore
from app.engine.capture import capture
from app.engine.checkpoint import LoadedModel
from app.engine.direct import direct_effect
from app.engine.names import StateName
from app.errors import InputError
from app.registry import ModelRegistry
from app.schemas import RankRequest
from app.services.selection import short_state_names

CONTEXT_BEFORE, CONTEXT_AFTER = 40, 20
WARMUP = 200  # characters read before an example's context, so its state is the sample's
REGEX_TIMEOUT_S = 1.0
DIRECT_CHARS = 8  # characters listed each way in a unit's direct output effect


def find_store(registry: ModelRegistry, name: str) -> CellStore:
    store = registry.cells.get(name)
    if store is None:
        raise InputError(404, f"model {name!r} has no stored cell analysis; build it with "
                              f"`python -m app.cells.build models/{name}`")
    return store


def entry(score: Score) -> dict:
    where = StateName.parse(score.state)
    out = {"hypothesis": score.hypothesis, "layer": where.layer, "state": where.kind, "unit": score.unit,
           "metric": score.metric, "score": score.score, "sign": score.sign}
    if score.spearman is not None:
        out["spearman"] = score.spearman
    return out


def _check_hypothesis(name: str) -> None:
    if name not in HYPOTHESES:
        raise InputError(422, f"unknown hypothesis {name!r}; valid: {', '.join(HYPOTHESES)}")


def stored_cells(store: CellStore, hypothesis: str | None, limit: int | None) -> list[dict]:
    if hypothesis is not None:
        _check_hypothesis(hypothesis)
    cells, taken = [], Counter()
    for cell in store.summary["cells"]:  # stored best first within each hypothesis
        if (hypothesis is None or cell["hypothesis"] == hypothesis) and (limit is None or taken[cell["hypothesis"]] < limit):
            cells.append(cell)
            taken[cell["hypothesis"]] += 1
    return cells


def stored_probes(store: CellStore, name: str, hypothesis: str | None) -> list[dict]:
    if hypothesis is not None:
        _check_hypothesis(hypothesis)
    if "probes" not in store.summary:
        raise InputError(404, f"model {name!r}'s cell analysis predates linear probes; rebuild it with "
                              f"`python -m app.cells.build models/{name}`")
    return [p for p in store.summary["probes"] if hypothesis is None or p["hypothesis"] == hypothesis]


def _hypothesis(request: RankRequest, text: str) -> HypothesisValues:
    if (request.hypothesis is None) == (request.regex is None):
        raise InputError(422, 'give exactly one of "hypothesis" (a built-in id) or "regex"')
    if request.hypothesis is not None:
        _check_hypothesis(request.hypothesis)
        return HYPOTHESES[request.hypothesis].on(text)
    try:
        return HypothesisValues("regex", BINARY, regex_values(request.regex, text, timeout_s=REGEX_TIMEOUT_S))
    except (RegexError, RegexTimeout) as exc:
        raise InputError(422, str(exc)) from exc


def rank_on_the_fly(loaded: LoadedModel, store: CellStore | None, request: RankRequest, max_chars: int) -> list[dict]:
    if request.text is None and store is None:
        raise InputError(422, f"model {loaded.name!r} has no stored sample; send a text to rank on")
    text = request.text if request.text is not None else store.sample[:max_chars]
    if len(text) > max_chars:
        raise InputError(413, f"ranking text has {len(text):,} characters; the limit is {max_chars:,}")
    hypothesis = _hypothesis(request, text)
    if hypothesis.is_constant:
        raise InputError(422, f"the hypothesis is {'true' if hypothesis.values[:1].any() else 'false'} at every "
                              "character of the text, so it cannot separate units; use a text where it varies")
    ids = loaded.vocab.encode(text).ids
    ranking: list[Score] = []
    cfg = loaded.model.config
    for layer in range(cfg.n_layers):  # one layer at a time bounds memory to N x H x states-per-layer
        scanned = scan(loaded.model, ids, cfg.state_names(layer), keep_states=True, track_top=False)
        ranking.extend(rank_units(scanned.states, [hypothesis], top=request.limit)[hypothesis.name])
    ranking.sort(key=lambda s: s.score, reverse=True)
    return [entry(s) for s in ranking[: request.limit]]


def _examples(loaded: LoadedModel, store: CellStore, name: str, unit: int, which: str) -> list[dict]:
    values = store.tensors[f"{name}.{which}_values"][:, unit].tolist()
    positions = store.tensors[f"{name}.{which}_positions"][:, unit].tolist()
    sample = store.sample
    windows = []
    for pos in positions:
        start, end = max(0, pos - CONTEXT_BEFORE), min(len(sample), pos + CONTEXT_AFTER + 1)
        windows.append((max(0, start - WARMUP), start, end, pos))
    width = max((end - warm for warm, _, end, _ in windows), default=0)
    ids = np.zeros((len(windows), width), dtype=np.int64)  # right-padded; padding comes after what is read
    for row, (warm, _, end, _) in enumerate(windows):
        ids[row, : end - warm] = loaded.vocab.encode(sample[warm:end]).ids
    acts = capture(loaded.model, torch.from_numpy(ids), [name], [unit]).states[name][..., 0] if windows else None
    out = []
    for row, ((warm, start, end, pos), value) in enumerate(zip(windows, values)):
        out.append({"position": pos, "value": round(value, 4), "context": sample[start:end], "peak": pos - start,
                    "values": [round(v, 4) for v in acts[row, start - warm : end - warm].tolist()]})
    return out


def unit_report(loaded: LoadedModel, store: CellStore, layer: int, state: str, unit: int) -> dict:
    cfg = loaded.model.config
    if not 0 <= layer < cfg.n_layers:
        raise InputError(422, f"layer {layer} is out of range; {loaded.name} has layers 0 to {cfg.n_layers - 1}")
    if state not in short_state_names(loaded):
        raise InputError(422, f"unknown state {state!r}; valid states: {', '.join(short_state_names(loaded))}")
    if not 0 <= unit < cfg.hidden_size:
        raise InputError(422, f"unit {unit} is out of range; {loaded.name} has units 0 to {cfg.hidden_size - 1}")
    name = str(StateName(layer, state))
    absent = set(store.summary.get("absent", []))
    scores = []
    for j, h in enumerate(store.summary["hypotheses"]):
        if h["name"] in absent:
            continue
        signed = float(store.tensors[f"{name}.scores"][unit, j])
        binary = h["value_type"] == BINARY
        scores.append({"hypothesis": h["name"], "value_type": h["value_type"], "metric": "auroc" if binary else "pearson",
                       "score": round(0.5 + abs(signed) if binary else abs(signed), 4), "sign": 1 if signed >= 0 else -1})
    scores.sort(key=lambda s: (s["score"] - 0.5) * 2 if s["value_type"] == BINARY else s["score"], reverse=True)
    saturation = store.tensors.get(f"{name}.saturation")
    direct = None
    if layer == cfg.n_layers - 1 and state == "h":  # only the top layer's h reaches the output layer directly
        effect = direct_effect(loaded.model, loaded.vocab, unit, DIRECT_CHARS)
        direct = {way: [{"char": ch, "logit": round(logit, 4)} for ch, logit in getattr(effect, way)]
                  for way in ("raises", "lowers")}
    return {
        "model": loaded.name, "layer": layer, "state": state, "unit": unit, "name": name, "scores": scores,
        "top": _examples(loaded, store, name, unit, "top"), "bottom": _examples(loaded, store, name, unit, "bottom"),
        "saturation": None if saturation is None else {"left": round(float(saturation[unit, 0]), 4),
                                                       "right": round(float(saturation[unit, 1]), 4)},
        "direct_effect": direct,
    }


def saturation_report(loaded: LoadedModel, store: CellStore) -> dict:
    gates = []
    for name in loaded.model.config.state_names():
        sat = store.tensors.get(f"{name}.saturation")
        if sat is not None:
            where = StateName.parse(name)
            gates.append({"layer": where.layer, "gate": where.kind, "left": [round(v, 4) for v in sat[:, 0].tolist()],
                          "right": [round(v, 4) for v in sat[:, 1].tolist()]})
    return {"model": loaded.name, "sample_chars": len(store.sample), "gates": gates}
