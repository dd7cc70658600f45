"""Activations of a text, computed in chunks so that long texts can stream.

The chunk boundaries depend on the text length only, and both the streaming and the
plain endpoint consume the same chunks, so the same request gives the same numbers.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from app.engine.capture import capture
from app.engine.checkpoint import LoadedModel
from app.engine.vocab import UNKNOWN_INDEX, Encoded
from app.errors import InputError
from app.services.selection import ResolvedSelection
from app.settings import Settings

log = logging.getLogger("cellx.activations")

FIRST_CHUNK = 256  # small, so the first lines of a long text reach the client quickly
MAX_CHUNK = 8192
DECIMALS = 4


@dataclass
class Chunk:
    start: int
    values: list[list[float]]  # (n, U)
    top: list[list[dict]] | None
    bits: list[float | None] | None


def chunk_bounds(length: int) -> Iterator[tuple[int, int]]:
    start, size = 0, FIRST_CHUNK
    while start < length:
        yield start, min(length, start + size)
        start, size = start + size, min(MAX_CHUNK, size * 2)


def check_size(text: str, n_units: int, settings: Settings) -> None:
    if len(text) > settings.max_text_length:
        raise InputError(413, f"text has {len(text):,} characters; the limit is {settings.max_text_length:,}")
    if len(text) * n_units > settings.max_values:
        raise InputError(413, f"{len(text):,} characters x {n_units} units = {len(text) * n_units:,} values; "
                              f"the limit is {settings.max_values:,}: ask for fewer units or a shorter text")


def _top_predictions(probs: torch.Tensor, loaded: LoadedModel, k: int) -> list[list[dict]]:
    candidates = probs.clone()
    candidates[:, UNKNOWN_INDEX] = -1.0  # the unknown symbol is never offered as a prediction
    p, idx = torch.topk(candidates, min(k, probs.shape[-1] - 1), dim=-1)  # (n, k); a tiny vocabulary has fewer
    decode = loaded.vocab.decode_id
    return [[{"char": decode(i), "p": round(v, DECIMALS)} for v, i in zip(row_p, row_i)]
            for row_p, row_i in zip(p.tolist(), idx.tolist())]


def activation_chunks(loaded: LoadedModel, encoded: Encoded, sel: ResolvedSelection, topk: int, with_bits: bool,
                      compute_slot: AbstractContextManager = nullcontext()) -> Iterator[Chunk]:
    """`compute_slot` is held around each chunk's model computation, so that requests share the cores."""
    ids = torch.from_numpy(encoded.ids)
    need_logits = topk > 0 or with_bits
    state = None
    for start, end in chunk_bounds(len(ids)):
        with compute_slot:
            result = capture(loaded.model, ids[start:end], [sel.name], sel.units, state,
                             with_logits=need_logits, with_final_state=True)
        state = result.final_state
        values = np.round(result.states[sel.name][0].numpy().astype(np.float64), DECIMALS).tolist()
        top = bits = None
        if need_logits:
            probs = torch.softmax(result.logits[0].double(), dim=-1)  # (n, V)
            if topk:
                top = _top_predictions(probs, loaded, topk)
            if with_bits:
                next_ids = ids[start + 1 : end + 1]
                p_next = torch.full((end - start,), math.nan, dtype=torch.float64)
                p_next[: len(next_ids)] = probs[torch.arange(len(next_ids)), next_ids]
                surprisal = np.round(-np.log2(p_next.numpy()), DECIMALS)
                bits = [None if math.isnan(b) else b for b in surprisal.tolist()]
        yield Chunk(start=start, values=values, top=top, bits=bits)


def collect(loaded: LoadedModel, text: str, sel: ResolvedSelection, topk: int, with_bits: bool,
            compute_slot: AbstractContextManager = nullcontext()) -> dict:
    encoded = loaded.vocab.encode(text)
    values, top, bits = [], [], []
    for chunk in activation_chunks(loaded, encoded, sel, topk, with_bits, compute_slot):
        values.extend(chunk.values)
        top.extend(chunk.top or [])
        bits.extend(chunk.bits or [])
    return {
        "model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
        "chars": list(text), "values": values, "unknown": encoded.unknown,
        "predictions": top if topk else None, "bits": bits if with_bits else None,
    }


def metadata_line(loaded: LoadedModel, text_length: int, sel: ResolvedSelection, unknown: list[int]) -> str:
    return json.dumps({"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name,
                       "units": sel.units, "length": text_length, "unknown": unknown}) + "\n"


def ndjson_lines(loaded: LoadedModel, text: str, sel: ResolvedSelection, topk: int, with_bits: bool,
                 compute_slot: AbstractContextManager = nullcontext()) -> Iterator[str]:
    encoded = loaded.vocab.encode(text)
    yield metadata_line(loaded, len(text), sel, encoded.unknown)
    try:
        yield from _character_lines(loaded, text, encoded, sel, topk, with_bits, compute_slot)
    except Exception as exc:  # the 200 status is already sent: tell the client in-band instead of cutting it off
        log.exception("stream for %s failed", loaded.name)
        yield json.dumps({"error": f"internal error while computing activations: {type(exc).__name__}"}) + "\n"


def _character_lines(loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection, topk: int,
                     with_bits: bool, compute_slot: AbstractContextManager) -> Iterator[str]:
    for chunk in activation_chunks(loaded, encoded, sel, topk, with_bits, compute_slot):
        lines = []
        for offset, row in enumerate(chunk.values):
            i = chunk.start + offset
            line = {"i": i, "char": text[i], "values": row}
            if chunk.top is not None:
                line["top"] = chunk.top[offset]
            if chunk.bits is not None:
                line["bits"] = chunk.bits[offset]
            lines.append(json.dumps(line, ensure_ascii=False))
        yield "\n".join(lines) + "\n"
