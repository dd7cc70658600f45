"""Streaming a generated sample as NDJSON, one line per character with its activations."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from app.engine.checkpoint import LoadedModel
from app.engine.sampling import sample
from app.schemas import SampleRequest
from app.services.activations import DECIMALS
from app.services.selection import ResolvedSelection


def sample_lines(loaded: LoadedModel, request: SampleRequest, sel: ResolvedSelection,
                 compute_slot: AbstractContextManager = nullcontext()) -> Iterator[str]:
    """`compute_slot` is held while each character is computed, so that requests share the cores."""
    yield json.dumps({"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name,
                      "units": sel.units, "length": request.length, "prime": request.prime,
                      "unknown": loaded.vocab.encode(request.prime).unknown}) + "\n"
    generated = sample(loaded.model, loaded.vocab, request.prime, request.length, request.temperature,
                       request.seed, [sel.name], sel.units)
    for i in range(request.length):
        with compute_slot:
            step = next(generated)
        values = np.round(step.states[sel.name].numpy().astype(np.float64), DECIMALS).tolist()
        yield json.dumps({"i": i, "char": step.char, "values": values, "p": round(step.p, DECIMALS)},
                         ensure_ascii=False) + "\n"
