"""Steering in generation: the same prime and seed sampled twice, with and without interventions.

Both samples are streams of the batcher (batcher.py), rows of the same passes as every other
request's: the plain one a SampleStream, exactly what POST /api/sample generates with that seed,
the steered one a SteeredSampleStream with the same seed, whose steps where its interventions
act run on capture()'s per-step path with the edits in its own row (its spans count generated
positions, as app/engine/sampling.sample's do; the prime is read plainly). The two agree until
the interventions first change a draw (`diverged_at`); steer_lines streams the pairs as they are drawn.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import orjson
import torch

from app.cells.store import CellStore
from app.engine.checkpoint import LoadedModel
from app.engine.interventions import Intervention, acting, unit_values
from app.errors import InputError
from app.schemas import SteeringRequest
from app.services.batcher import Batcher
from app.services.interventions import check_list
from app.services.sampling import SampleStream, drawn_fields
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


class SteeredSampleStream(SampleStream):
    """A sample whose steps reading generated position i run with the interventions that cover i."""

    def __init__(self, loaded: LoadedModel, request: SteeringRequest, sel: ResolvedSelection,
                 interventions: Sequence[Intervention], means: Mapping[str, torch.Tensor] | None):
        super().__init__(loaded, request, sel)
        self.interventions = tuple(interventions)
        self.values = unit_values(self.interventions, means)

    def acting(self) -> tuple[tuple[Intervention, torch.Tensor], ...]:
        if self.read_upto < len(self.prime):
            return ()  # the prime is read plainly
        # the next step reads the character about to be drawn: generated position len(drawn)
        return acting(self.interventions, len(self.drawn), self.values)


def _pairs(batcher: Batcher, loaded: LoadedModel, request: SteeringRequest, interventions: Sequence[Intervention],
           sel: ResolvedSelection, means: Mapping[str, torch.Tensor] | None) -> AsyncIterator[dict[str, dict]]:
    """Per generated position, {"steered": {char, values, p}, "plain": {...}}, as soon as both are drawn.

    Both streams are submitted before the first pair (a 503 with Retry-After when the batcher is full);
    closed early, it frees both rows."""
    plain = batcher.submit(SampleStream(loaded, request, sel))
    try:
        steered = batcher.submit(SteeredSampleStream(loaded, request, sel, interventions, means))
    except InputError:
        plain.cancel()
        raise
    return _zipped({"steered": steered, "plain": plain})


async def _zipped(streams: dict) -> AsyncIterator[dict[str, dict]]:
    """{key: item} of each stream's next item, rounded, until one ends; leaving early cancels them all."""
    items = {key: stream.items() for key, stream in streams.items()}
    try:
        while True:
            pair = {}
            for key, generated in items.items():
                try:
                    _, char, values, p = await anext(generated)
                except StopAsyncIteration:
                    return
                pair[key] = drawn_fields(char, values, p)
            yield pair
    finally:
        for stream in streams.values():
            stream.cancel()


def _head(loaded: LoadedModel, request: SteeringRequest, sel: ResolvedSelection) -> dict:
    return {"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
            "prime": request.prime, "unknown": loaded.vocab.encode(request.prime).unknown}


async def steer(batcher: Batcher, loaded: LoadedModel, request: SteeringRequest,
                interventions: Sequence[Intervention], sel: ResolvedSelection,
                means: Mapping[str, torch.Tensor] | None = None) -> dict:
    """Both samples (check_steering first), each character with the selected values and its probability."""
    out = {key: {"chars": [], "values": [], "p": []} for key in ("steered", "plain")}
    async for pair in _pairs(batcher, loaded, request, interventions, sel, means):
        for key, step in pair.items():
            out[key]["chars"].append(step["char"])
            out[key]["values"].append(step["values"])
            out[key]["p"].append(step["p"])
    pairs = zip(out["steered"]["chars"], out["plain"]["chars"])
    diverged = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
    return {**_head(loaded, request, sel), **out, "diverged_at": diverged}


def open_steering(batcher: Batcher, loaded: LoadedModel, request: SteeringRequest,
                  interventions: Sequence[Intervention], sel: ResolvedSelection,
                  means: Mapping[str, torch.Tensor] | None = None) -> AsyncIterator[bytes]:
    """Submits both samples (a 503 before any line when the batcher is full), then the NDJSON lines: the
    metadata, then one line per generated position {i, steered, plain}, written as both are drawn."""
    pairs = _pairs(batcher, loaded, request, interventions, sel, means)

    async def lines() -> AsyncIterator[bytes]:
        yield orjson.dumps({**_head(loaded, request, sel), "length": request.length}) + b"\n"
        i = 0
        async for pair in pairs:
            yield orjson.dumps({"i": i, **pair}) + b"\n"
            i += 1
    return lines()
