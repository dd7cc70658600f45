"""Activations of a text, read by the batcher in chunks so that long texts can stream.

The text is one stream of the batcher (batcher.py): its chunk boundaries depend on its length
only and every pass has a checked shape, so the same request gives the same numbers alone or
beside others, and the streaming and the plain endpoint consume the same chunks.

Answer side: the plain endpoint keeps each chunk's raw rows and makes the answer once, at the
end, in one worker thread (softmax, bits, top k and orjson together); the stream does the same
per chunk. The top k is written as JSON by predictions.py, the rest with orjson: the documented
schema unchanged (the same keys, None fields left out).
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np
import orjson
import torch
from fastapi.concurrency import run_in_threadpool

from app.engine.checkpoint import LoadedModel
from app.engine.streams import RowResult, Want, model_device
from app.engine.vocab import Encoded
from app.errors import InputError
from app.services.batcher import FIRST_CHARS, Batcher, Stream
from app.services.predictions import DECIMALS, next_bits, probabilities, top_json, top_k
from app.services.selection import ResolvedSelection
from app.settings import Settings

log = logging.getLogger("cellx.activations")


@dataclass
class Chunk:
    start: int
    values: np.ndarray  # (n, U) float64, rounded
    top: tuple[np.ndarray, np.ndarray] | None  # ids, p (n, k)
    bits: np.ndarray | None  # (n,) float64, rounded; NaN after the last character (JSON null)


def chunk_end(position: int, steps: int) -> int:
    """Where a text's chunk from `position` ends: the grid of a first chunk of FIRST_CHARS (a short first pass:
    the first lines soon), then one every `steps` (batch_chars), fixed by nothing but the text."""
    first = min(FIRST_CHARS, steps)
    return first if position < first else first + ((position - first) // steps + 1) * steps


def check_size(text: str, n_units: int, settings: Settings) -> None:
    if len(text) > settings.max_text_length:
        raise InputError(413, f"text has {len(text):,} characters; the limit is {settings.max_text_length:,}")
    if len(text) * n_units > settings.max_values:
        raise InputError(413, f"{len(text):,} characters x {n_units} units = {len(text) * n_units:,} values; "
                              f"the limit is {settings.max_values:,}: ask for fewer units or a shorter text")


class TextStream(Stream):
    """One text read by the batcher; each chunk's rows (on the CPU) go to the consumer as (start, values, logits)."""

    def __init__(self, loaded: LoadedModel, ids: torch.Tensor, sel: ResolvedSelection, need_logits: bool):
        super().__init__(loaded.model, Want(sel.name, tuple(sel.units)))
        self.ids, self.need_logits, self.position = ids, need_logits, 0  # ids (L,) on the model's device

    def pass_steps(self, steps: int) -> int:
        return chunk_end(self.position, steps) - self.position

    def read(self, steps: int) -> torch.Tensor:
        return self.ids[self.position : self.position + steps]

    def read_done(self, result: RowResult | None, length: int) -> None:
        start, self.position = self.position, self.position + length
        logits = result.logits[:length].cpu().numpy() if self.need_logits else None  # (n, V)
        self.put((start, result.values[:length].cpu().numpy(), logits))  # (n, U)
        if self.position >= len(self.ids):
            self.finish()


def open_stream(batcher: Batcher, loaded: LoadedModel, encoded: Encoded, sel: ResolvedSelection, topk: int,
                with_bits: bool) -> TextStream:
    """Submits the text to the batcher (a 503 with Retry-After when it is full), before any answer starts."""
    ids = torch.from_numpy(encoded.ids).to(model_device(loaded.model))
    return batcher.submit(TextStream(loaded, ids, sel, topk > 0 or with_bits))


def _chunk(ids: np.ndarray, start: int, values: np.ndarray, logits: np.ndarray | None, topk: int,
           with_bits: bool) -> Chunk:
    rounded = np.round(values.astype(np.float64), DECIMALS)  # (n, U)
    top = bits = None
    if logits is not None:
        probs = probabilities(logits)  # (n, V)
        if topk:
            top = top_k(probs, topk)
        if with_bits:
            bits = next_bits(probs, ids[start + 1 : start + len(values) + 1])
    return Chunk(start=start, values=rounded, top=top, bits=bits)


async def activation_chunks(stream: TextStream, encoded: Encoded, topk: int, with_bits: bool,
                            ) -> AsyncIterator[Chunk]:
    async for start, values, logits in stream.items():
        yield await run_in_threadpool(_chunk, encoded.ids, start, values, logits, topk, with_bits)


def _answer(loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection, topk: int, with_bits: bool,
            parts: list[tuple[int, np.ndarray, np.ndarray | None]]) -> bytes:
    values = np.concatenate([v for _, v, _ in parts])  # (L, U)
    logits = np.concatenate([g for _, _, g in parts]) if parts and parts[0][2] is not None else None  # (L, V)
    whole = _chunk(encoded.ids, 0, values, logits, topk, with_bits)
    answer = {
        "model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
        "chars": list(text), "values": whole.values, "unknown": encoded.unknown,
    }
    if topk:
        answer["predictions"] = top_json(loaded.vocab).lists(*whole.top)
    if with_bits:
        answer["bits"] = whole.bits  # orjson writes NaN as null
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


async def stream_parts(stream: TextStream, disconnected: Callable[[], Awaitable[bool]] | None = None,
                       ) -> list[tuple[int, np.ndarray, np.ndarray | None]] | None:
    """Every chunk the stream puts, (start, values, logits); None when the client went away first."""
    parts = []
    async for part in stream.items():
        parts.append(part)
        if disconnected is not None and await disconnected():
            stream.cancel()  # its row is free from the next pass on
            return None
    return parts


async def collect(stream: TextStream, loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection,
                  topk: int, with_bits: bool, disconnected: Callable[[], Awaitable[bool]] | None = None,
                  ) -> bytes | None:
    """The whole answer as JSON bytes (ActivationsResponse); None when the client went away first."""
    parts = await stream_parts(stream, disconnected)
    if parts is None:
        return None
    return await run_in_threadpool(_answer, loaded, text, encoded, sel, topk, with_bits, parts)


def metadata_line(loaded: LoadedModel, text_length: int, sel: ResolvedSelection, unknown: list[int]) -> bytes:
    return orjson.dumps({"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name,
                         "units": sel.units, "length": text_length, "unknown": unknown}) + b"\n"


async def ndjson_lines(stream: TextStream, loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection,
                       topk: int, with_bits: bool) -> AsyncIterator[bytes]:
    """Metadata, then one line per character as each chunk is computed. Closed early (the client went away),
    it cancels the stream, whose row is then free from the next pass on."""
    yield metadata_line(loaded, len(text), sel, encoded.unknown)
    try:
        async for chunk in activation_chunks(stream, encoded, topk, with_bits):
            yield await run_in_threadpool(_lines, loaded, text, chunk)
    except Exception as exc:  # the 200 status is already sent: tell the client in-band instead of cutting it off
        log.exception("stream for %s failed", loaded.name)
        yield orjson.dumps({"error": f"internal error while computing activations: {type(exc).__name__}"}) + b"\n"
    finally:
        stream.cancel()


def _lines(loaded: LoadedModel, text: str, chunk: Chunk) -> bytes:
    values = chunk.values.tolist()
    bits = chunk.bits.tolist() if chunk.bits is not None else None
    tops = top_json(loaded.vocab).each(*chunk.top) if chunk.top is not None else None
    lines = []
    for offset, row in enumerate(values):
        i = chunk.start + offset
        line = {"i": i, "char": text[i], "values": row}
        if tops is not None:
            line["top"] = tops[offset]
        if bits is not None:
            line["bits"] = bits[offset]  # NaN after the last character: orjson writes null
        lines.append(orjson.dumps(line))
    return b"\n".join(lines) + b"\n"
