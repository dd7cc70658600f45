"""Steering in generation: the same prime and seed sampled twice, with and without interventions.

Both samples come from app/engine/sampling.sample with one seed each, so the plain one is exactly
what POST /api/sample generates with that seed, and the two agree until the interventions first
change a draw (`diverged_at`). They are generated a character of each at a time, holding the
compute slot per pair, as the sample stream holds it per character; steer_lines streams the pairs
as they are drawn.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from app.cells.store import CellStore
from app.engine.checkpoint import LoadedModel
from app.engine.interventions import Intervention
from app.engine.sampling import sample
from app.errors import InputError
from app.schemas import SteeringRequest
from app.services.activations import DECIMALS
from app.services.interventions import check_list
from app.services.selection import ResolvedSelection
from app.settings import Settings


def check_steering(loaded: LoadedModel, store: CellStore | None, request: SteeringRequest,
                   interventions: Sequence[Intervention], sel: ResolvedSelection,
                   settings: Settings) -> dict[str, torch.Tensor]:
    """413 / 422 for a request that cannot be served as asked; the unit means the interventions need."""
    values = 2 * request.length * len(sel.units)
    if values > settings.max_values:
        raise InputError(413, f"{request.length:,} characters x {len(sel.units)} units x 2 samples = {values:,} "
                              f"values; the limit is {settings.max_values:,}: ask for fewer units or a shorter sample")
    return check_list(loaded, store, interventions, request.length, request.snapshot)


def _steps(loaded: LoadedModel, request: SteeringRequest, interventions: Sequence[Intervention],
           sel: ResolvedSelection, means: Mapping[str, torch.Tensor] | None,
           compute_slot: AbstractContextManager) -> Iterator[dict[str, dict]]:
    """Per generated position, {"steered": {char, values, p}, "plain": {...}}."""
    args = (loaded.model, loaded.vocab, request.prime, request.length, request.temperature, request.seed,
            [sel.name], sel.units)
    streams = {"steered": sample(*args, interventions=interventions, means=means), "plain": sample(*args)}
    for _ in range(request.length):
        with compute_slot:
            steps = {key: next(generated) for key, generated in streams.items()}
        yield {key: {"char": step.char, "p": round(step.p, DECIMALS),
                     "values": np.round(step.states[sel.name].numpy().astype(np.float64), DECIMALS).tolist()}
               for key, step in steps.items()}


def _head(loaded: LoadedModel, request: SteeringRequest, sel: ResolvedSelection) -> dict:
    return {"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
            "prime": request.prime, "unknown": loaded.vocab.encode(request.prime).unknown}


def steer(loaded: LoadedModel, request: SteeringRequest, interventions: Sequence[Intervention],
          sel: ResolvedSelection, means: Mapping[str, torch.Tensor] | None = None,
          compute_slot: AbstractContextManager = nullcontext()) -> dict:
    """Both samples (check_steering first), each character with the selected values and its probability."""
    out = {key: {"chars": [], "values": [], "p": []} for key in ("steered", "plain")}
    for pair in _steps(loaded, request, interventions, sel, means, compute_slot):
        for key, step in pair.items():
            out[key]["chars"].append(step["char"])
            out[key]["values"].append(step["values"])
            out[key]["p"].append(step["p"])
    pairs = zip(out["steered"]["chars"], out["plain"]["chars"])
    diverged = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
    return {**_head(loaded, request, sel), **out, "diverged_at": diverged}


def steer_lines(loaded: LoadedModel, request: SteeringRequest, interventions: Sequence[Intervention],
                sel: ResolvedSelection, means: Mapping[str, torch.Tensor] | None = None,
                compute_slot: AbstractContextManager = nullcontext()) -> Iterator[str]:
    """The same as NDJSON: the metadata line, then one line per generated position {i, steered, plain},
    each written as soon as both characters are drawn."""
    yield json.dumps({**_head(loaded, request, sel), "length": request.length}, ensure_ascii=False) + "\n"
    for i, pair in enumerate(_steps(loaded, request, interventions, sel, means, compute_slot)):
        yield json.dumps({"i": i, **pair}, ensure_ascii=False) + "\n"
