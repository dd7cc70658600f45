"""Activations of a text, read by the batcher in chunks so that long texts can stream.

The text is one stream of the batcher (batcher.py): its chunk boundaries depend on its length
only and every pass has the same shape, so the same request gives the same numbers alone or
beside others, and the streaming and the plain endpoint consume the same chunks.

Encoding: a 2,000-character answer with top-5 predictions is ~280 kB of JSON, and Python's json
plus FastAPI's response validation cost about as much as the batched model work for it, so the
answers are written with orjson (the documented schema unchanged: the same keys, None fields left
out). The rounding and the top-k run in a worker thread per chunk, off the event loop.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import torch
from fastapi.concurrency import run_in_threadpool

from app.engine.checkpoint import LoadedModel
from app.engine.streams import RowResult, Want
from app.engine.vocab import UNKNOWN_INDEX, Encoded
from app.errors import InputError
from app.services.batcher import FIRST_CHARS, Batcher, Stream
from app.services.selection import ResolvedSelection
from app.settings import Settings

log = logging.getLogger("cellx.activations")

FIRST_CHUNK = 256  # chunk_bounds: the chunks interventions.py reads a text in
MAX_CHUNK = 8192
DECIMALS = 4


@dataclass
class Chunk:
    start: int
    values: np.ndarray  # (n, U) float64, rounded
    top: list[list[dict]] | None
    bits: np.ndarray | None  # (n,) float64, rounded; NaN after the last character (JSON null)


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


class TextStream(Stream):
    """One text read by the batcher; each chunk's rows (on the CPU) go to the consumer as (start, values, logits)."""

    def __init__(self, loaded: LoadedModel, ids: torch.Tensor, sel: ResolvedSelection, need_logits: bool):
        super().__init__(loaded.model, Want(sel.name, tuple(sel.units)))
        self.ids, self.need_logits, self.position = ids, need_logits, 0  # ids (L,) on the model's device

    def pass_steps(self, steps: int) -> int:
        return min(FIRST_CHARS, steps) if self.position == 0 else steps  # a short first pass: the first lines soon

    def read(self, steps: int) -> torch.Tensor:
        return self.ids[self.position : self.position + steps]

    def read_done(self, result: RowResult | None, length: int) -> None:
        start, self.position = self.position, self.position + length
        logits = result.logits[:length].cpu() if self.need_logits else None  # (n, V)
        self.put((start, result.values[:length].cpu(), logits))  # (n, U)
        if self.position >= len(self.ids):
            self.finish()


def open_stream(batcher: Batcher, loaded: LoadedModel, encoded: Encoded, sel: ResolvedSelection, topk: int,
                with_bits: bool) -> TextStream:
    """Submits the text to the batcher (a 503 with Retry-After when it is full), before any answer starts."""
    device = next(loaded.model.parameters()).device
    ids = torch.from_numpy(encoded.ids).to(device)
    return batcher.submit(TextStream(loaded, ids, sel, topk > 0 or with_bits))


def _chunk(loaded: LoadedModel, ids: np.ndarray, start: int, values: torch.Tensor, logits: torch.Tensor | None,
           topk: int, with_bits: bool) -> Chunk:
    rounded = np.round(values.numpy().astype(np.float64), DECIMALS)  # (n, U)
    top = bits = None
    if logits is not None:
        probs = torch.softmax(logits.double(), dim=-1)  # (n, V)
        if topk:
            top = _top_predictions(probs, loaded, topk)
        if with_bits:
            end = start + len(values)
            next_ids = torch.from_numpy(ids[start + 1 : end + 1])
            p_next = torch.full((end - start,), float("nan"), dtype=torch.float64)
            p_next[: len(next_ids)] = probs[torch.arange(len(next_ids)), next_ids]
            bits = np.round(-np.log2(p_next.numpy()), DECIMALS)
    return Chunk(start=start, values=rounded, top=top, bits=bits)


async def activation_chunks(stream: TextStream, loaded: LoadedModel, encoded: Encoded, topk: int,
                            with_bits: bool) -> AsyncIterator[Chunk]:
    async for start, values, logits in stream.items():
        yield await run_in_threadpool(_chunk, loaded, encoded.ids, start, values, logits, topk, with_bits)


async def collect(stream: TextStream, loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection,
                  topk: int, with_bits: bool, disconnected: Callable[[], Awaitable[bool]] | None = None,
                  ) -> bytes | None:
    """The whole answer as JSON bytes (ActivationsResponse); None when the client went away first."""
    chunks = []
    async for chunk in activation_chunks(stream, loaded, encoded, topk, with_bits):
        chunks.append(chunk)
        if disconnected is not None and await disconnected():
            stream.cancel()  # its row is free from the next pass on
            return None
    answer = {
        "model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name, "units": sel.units,
        "chars": list(text), "values": np.concatenate([c.values for c in chunks]), "unknown": encoded.unknown,
    }
    if topk:
        answer["predictions"] = [row for c in chunks for row in c.top]
    if with_bits:
        answer["bits"] = np.concatenate([c.bits for c in chunks])  # orjson writes NaN as null
    return await run_in_threadpool(orjson.dumps, answer, option=orjson.OPT_SERIALIZE_NUMPY)


def metadata_line(loaded: LoadedModel, text_length: int, sel: ResolvedSelection, unknown: list[int]) -> bytes:
    return orjson.dumps({"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name,
                         "units": sel.units, "length": text_length, "unknown": unknown}) + b"\n"


async def ndjson_lines(stream: TextStream, loaded: LoadedModel, text: str, encoded: Encoded, sel: ResolvedSelection,
                       topk: int, with_bits: bool) -> AsyncIterator[bytes]:
    """Metadata, then one line per character as each chunk is computed. Closed early (the client went away),
    it cancels the stream, whose row is then free from the next pass on."""
    yield metadata_line(loaded, len(text), sel, encoded.unknown)
    try:
        async for chunk in activation_chunks(stream, loaded, encoded, topk, with_bits):
            yield await run_in_threadpool(_lines, text, chunk)
    except Exception as exc:  # the 200 status is already sent: tell the client in-band instead of cutting it off
        log.exception("stream for %s failed", loaded.name)
        yield orjson.dumps({"error": f"internal error while computing activations: {type(exc).__name__}"}) + b"\n"
    finally:
        stream.cancel()


def _lines(text: str, chunk: Chunk) -> bytes:
    values = chunk.values.tolist()
    bits = chunk.bits.tolist() if chunk.bits is not None else None
    lines = []
    for offset, row in enumerate(values):
        i = chunk.start + offset
        line = {"i": i, "char": text[i], "values": row}
        if chunk.top is not None:
            line["top"] = chunk.top[offset]
        if bits is not None:
            line["bits"] = bits[offset]  # NaN after the last character: orjson writes null
        lines.append(orjson.dumps(line))
    return b"\n".join(lines) + b"\n"
