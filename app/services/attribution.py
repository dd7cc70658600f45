"""Which earlier characters a prediction depends on (POST /api/attribution), and how far back a model
remembers (GET /api/models/{name}/memory, the stored curves of app/cells/memory.py)."""
from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from app.cells.memory import MEMORY_FILE
from app.engine import attribution
from app.engine.checkpoint import LoadedModel
from app.errors import InputError
from app.schemas import AttributionRequest
from app.services.activations import DECIMALS
from app.settings import Settings

FIELDS = ("window", "positions", "gradient_positions", "sample_sha256", "occlusion", "gradient")  # of memory.json
METHODS = {"occlusion": attribution.occlusion, "gradient": attribution.gradient_x_input}


def resolve_target(loaded: LoadedModel, request: AttributionRequest) -> int:
    """The output class to explain; 422 for a position outside the text or a target it cannot predict."""
    text, position = request.text, request.position
    if position >= len(text):
        raise InputError(422, f"position {position} is outside the text: positions are 0 to {len(text) - 1}")
    target = request.target
    if target is None:
        if position == len(text) - 1:
            raise InputError(422, f"position {position} is the last character, so there is no next character to "
                                  "explain: give a target (a character of the model's vocabulary) or an earlier "
                                  "position")
        target = text[position + 1]
    if target not in loaded.vocab:
        which = "the next character" if request.target is None else "target"
        raise InputError(422, f"{which} {target!r} is not in {loaded.name}'s vocabulary, so the model never "
                              f"predicts it; give a target from its {len(loaded.vocab.chars)} characters (GET "
                              f"/api/models/{loaded.name} lists them)")
    return int(loaded.vocab.encode(target).ids[0])


def attribute(loaded: LoadedModel, request: AttributionRequest, settings: Settings,
              compute_slot: AbstractContextManager = nullcontext()) -> dict:
    if len(request.text) > settings.max_text_length:
        raise InputError(413, f"text has {len(request.text):,} characters; the limit is "
                              f"{settings.max_text_length:,}")
    target = resolve_target(loaded, request)
    encoded = loaded.vocab.encode(request.text[: request.position + 1])
    device = loaded.model.head.weight.device
    ids = torch.from_numpy(encoded.ids).to(device)
    with compute_slot:
        result = METHODS[request.method](loaded.model, ids, request.position, target, request.window)
    start = result.start
    return {
        "model": loaded.name, "method": request.method, "position": request.position,
        "target": loaded.vocab.decode_id(target), "target_bits": round(result.base_bits, DECIMALS),
        "start": start, "chars": list(request.text[start : request.position + 1]),
        "effects": np.round(result.effects.cpu().numpy(), DECIMALS).tolist(),
        "unknown": [q for q in encoded.unknown if q >= start],
    }


def memory_of(loaded: LoadedModel) -> dict:
    """The stored memory reach of the model; 404 saying how to build it where there is none."""
    path = loaded.path / MEMORY_FILE if loaded.path is not None else None
    if path is None or not path.is_file():
        raise InputError(404, f"model {loaded.name!r} has no stored memory reach; build it with "
                              f"`python -m app.cells.memory models/{loaded.name}`")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return {"model": loaded.name, **{key: stored[key] for key in FIELDS}}
    except (OSError, ValueError, KeyError, TypeError) as exc:  # the server's problem, said plainly
        raise InputError(503, f"model {loaded.name!r}: its {MEMORY_FILE} cannot be read ({exc!r})") from exc
