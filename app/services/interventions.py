"""A text read with and without interventions: per character, what the model now predicts differently.

The request becomes two streams of the batcher (batcher.py), so that interventions of many users
run as rows of shared passes like every other request: the plain one a TextStream, exactly as
POST /api/activations reads the text (so `base_*` equal its numbers bit for bit), the other an
InterventionStream. That one reads in the same chunks, further cut where one of its own
interventions starts or stops acting: a chunk where none acts runs on the fused path as the plain
stream does (so before the first intervened position both are the same, delta 0 and KL 0), a
chunk where some act on capture()'s per-step path with the edits in its own row. Which path a
chunk takes depends on the request alone, never on the rows beside it, so the answer does not
depend on the load.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import numpy as np
import orjson
import torch
from fastapi.concurrency import run_in_threadpool

from app.cells.store import CellStore
from app.engine.checkpoint import LoadedModel
from app.engine.interventions import Intervention, acting, check, next_edge, unit_values
from app.engine.vocab import Encoded
from app.errors import InputError
from app.schemas import MAX_INTERVENTIONS  # documented there, in the request's schema
from app.services.activations import TextStream, check_size, chunk_end, open_stream, stream_parts
from app.services.batcher import Batcher
from app.services.predictions import DECIMALS, log_probabilities, next_bits, probabilities, top_json, top_k
from app.services.selection import ResolvedSelection
from app.settings import Settings


def check_interventions(loaded: LoadedModel, store: CellStore | None, text: str,
                        interventions: Sequence[Intervention], sel: ResolvedSelection,
                        settings: Settings, snapshot: int | None = None) -> dict[str, torch.Tensor]:
    """422 / 413 for a request that cannot be served as asked; the unit means the interventions need."""
    check_size(text, len(sel.units), settings)
    if 2 * len(text) * len(sel.units) > settings.max_values:
        raise InputError(413, f"{len(text):,} characters x {len(sel.units)} units x 2 (with and without the "
                              f"interventions) = {2 * len(text) * len(sel.units):,} values; the limit is "
                              f"{settings.max_values:,}: ask for fewer units or a shorter text")
    return check_list(loaded, store, interventions, len(text), snapshot)


def check_list(loaded: LoadedModel, store: CellStore | None, interventions: Sequence[Intervention],
               length: int, snapshot: int | None = None) -> dict[str, torch.Tensor]:
    """422 for interventions that do not fit the model or `length` positions; the unit means they need."""
    if len(interventions) > MAX_INTERVENTIONS:
        raise InputError(422, f"{len(interventions)} interventions; at most {MAX_INTERVENTIONS} per request")
    means = store.means if store is not None else {}
    for index, intervention in enumerate(interventions):
        if intervention.op == "mean" and snapshot is not None:
            # the stored means are the final model's: at an earlier step a unit averages something else
            raise InputError(422, f"interventions[{index}]: mean uses the final model's stored unit means, which "
                                  f"are not what the units average at snapshot {snapshot}; with a snapshot use "
                                  "zero or clamp, or omit snapshot")
        if intervention.op == "mean" and not means:
            how = (f"it has none; build it: python -m app.cells.build models/{loaded.name}" if store is None else
                   f"its analysis predates unit means; add them: python -m app.cells.means models/{loaded.name}")
            raise InputError(422, f"interventions[{index}]: mean needs {loaded.name}'s stored cell analysis (the "
                                  f"unit means over its held-out sample), and {how}; zero and clamp need none")
    try:
        check(interventions, loaded.model.config, means, length)
    except ValueError as exc:
        raise InputError(422, str(exc)) from None
    return means


class InterventionStream(TextStream):
    """A text read under interventions: chunks as a TextStream's, cut at its own interventions' span edges."""

    def __init__(self, loaded: LoadedModel, ids: torch.Tensor, sel: ResolvedSelection,
                 interventions: Sequence[Intervention], means: Mapping[str, torch.Tensor] | None):
        super().__init__(loaded, ids, sel, need_logits=True)
        self.interventions = tuple(interventions)
        self.values = unit_values(self.interventions, means)

    def pass_steps(self, steps: int) -> int:
        end, edge = chunk_end(self.position, steps), next_edge(self.interventions, self.position)
        return (end if edge is None else min(end, edge)) - self.position

    def acting(self) -> tuple[tuple[Intervention, torch.Tensor], ...]:
        return acting(self.interventions, self.position, self.values)


def _answer(loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection, topk: int,
            base_parts: list, parts: list) -> bytes:
    """The InterventionsResponse as JSON bytes, from both streams' chunks (start, values, logits)."""
    out: dict = {"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
                 "chars": list(text), "unknown": encoded.unknown}
    passes = {}
    for key, chunks in (("", parts), ("base_", base_parts)):
        values = np.concatenate([v for _, v, _ in chunks])  # (L, U)
        logits = np.concatenate([g for _, _, g in chunks])  # (L, V)
        probs = probabilities(logits)
        passes[key] = probs, log_probabilities(logits)
        out[key + "values"] = np.round(values.astype(np.float64), DECIMALS)
        out[key + "bits"] = next_bits(probs, encoded.ids[1:])  # NaN after the last: JSON null
        if topk:
            out[key + "predictions"] = top_json(loaded.vocab).lists(*top_k(probs, topk))
    (probs, log_p), (base_probs, base_log_p) = passes[""], passes["base_"]
    out["delta_bits"] = np.round(out["bits"] - out["base_bits"], DECIMALS)
    # KL(base || intervened) in bits; float rounding can leave a -1e-17 where they are equal
    kl = np.maximum((base_probs * (base_log_p - log_p)).sum(axis=-1) / np.log(2), 0.0)  # (L,)
    out["kl"] = np.round(kl, DECIMALS)
    return orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)


async def compare(batcher: Batcher, loaded: LoadedModel, text: str, interventions: Sequence[Intervention],
                  sel: ResolvedSelection, topk: int, means: Mapping[str, torch.Tensor] | None = None,
                  disconnected: Callable[[], Awaitable[bool]] | None = None) -> bytes | None:
    """Both passes over the text (check_interventions first) as the InterventionsResponse's JSON bytes: bits,
    their difference, the KL divergence of the two next-character distributions, the selected values and
    the top-k predictions of each. None when the client went away first; a 503 when the batcher is full."""
    encoded = loaded.vocab.encode(text)
    base = open_stream(batcher, loaded, encoded, sel, topk, with_bits=True)
    try:
        changed = batcher.submit(InterventionStream(loaded, base.ids, sel, interventions, means))
    except InputError:
        base.cancel()
        raise
    try:
        base_parts, parts = await asyncio.gather(stream_parts(base, disconnected), stream_parts(changed, disconnected))
    finally:
        base.cancel()
        changed.cancel()
    if base_parts is None or parts is None:
        return None
    return await run_in_threadpool(_answer, loaded, text, encoded, sel, topk, base_parts, parts)
