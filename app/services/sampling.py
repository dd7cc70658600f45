"""Streaming a generated sample as NDJSON, one line per character with its activations.

A sample is one stream of the batcher (batcher.py): its prime is read in whole chunks, the rest
of the prime and every drawn character one step at a time, each step a row of a batched
generation pass. The draws are app/engine/sampling.sample's own (one generator per request,
seeded with the request's seed, the unknown symbol never drawn), so the same seed gives the
same text alone or beside other requests.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import orjson
import torch

from app.engine.checkpoint import LoadedModel
from app.engine.streams import RowResult, Want, model_device
from app.engine.vocab import UNKNOWN_INDEX
from app.schemas import SampleRequest
from app.services.activations import DECIMALS
from app.services.batcher import Batcher, Stream
from app.services.selection import ResolvedSelection


class SampleStream(Stream):
    """Puts (i, char, values (U,), p) for each generated character."""

    def __init__(self, loaded: LoadedModel, request: SampleRequest, sel: ResolvedSelection):
        super().__init__(loaded.model, Want(sel.name, tuple(sel.units)))
        self.vocab, self.length, self.temperature = loaded.vocab, request.length, request.temperature
        self.prime = torch.from_numpy(loaded.vocab.encode(request.prime).ids).to(model_device(loaded.model))  # (P,)
        self.read_upto = 0  # prime characters read so far
        self.generator = torch.Generator().manual_seed(request.seed)  # the draws run on the CPU
        self.logits = torch.zeros(loaded.vocab.size)  # an empty prime: a uniform first guess
        self.drawn: list[tuple[int, float]] = []  # (id, p) of each generated character

    @property
    def want(self) -> Want:
        reading_prime = self.read_upto < len(self.prime)
        return Want(None) if reading_prime else self._want  # the prime's states are not sent

    @want.setter
    def want(self, value: Want) -> None:
        self._want = value

    def pass_steps(self, steps: int) -> int | None:
        # whole chunks only: the state after the last one is exact; the rest of the prime steps
        return steps if len(self.prime) - self.read_upto >= steps else None

    def read(self, steps: int) -> torch.Tensor:
        return self.prime[self.read_upto : self.read_upto + steps]

    def read_done(self, result: RowResult | None, length: int) -> None:
        self.read_upto += length
        self.logits = result.logits[-1].cpu()  # (V,)

    def step_input(self) -> int:
        if self.read_upto < len(self.prime):
            return int(self.prime[self.read_upto])
        logits = self.logits.clone()
        logits[UNKNOWN_INDEX] = float("-inf")
        probs = torch.softmax(logits.double() / self.temperature, dim=-1)
        next_id = int(torch.multinomial(probs, 1, generator=self.generator))
        self.drawn.append((next_id, float(probs[next_id])))
        return next_id

    def step_done(self, result: RowResult | None) -> None:
        self.logits = result.logits[-1].cpu()  # (V,)
        if self.read_upto < len(self.prime):
            self.read_upto += 1
            return
        next_id, p = self.drawn[-1]
        self.put((len(self.drawn) - 1, self.vocab.decode_id(next_id), result.values[0].cpu(), p))  # values (U,)
        if len(self.drawn) == self.length:
            self.finish()


def drawn_fields(char: str, values: torch.Tensor, p: float) -> dict:
    """A generated character as the answers write it: {char, values (U,), p}, rounded."""
    return {"char": char, "values": np.round(values.numpy().astype(np.float64), DECIMALS).tolist(),
            "p": round(p, DECIMALS)}


def open_sample(batcher: Batcher, loaded: LoadedModel, request: SampleRequest, sel: ResolvedSelection) -> SampleStream:
    """Submits the sample to the batcher (a 503 with Retry-After when it is full), before the answer starts."""
    return batcher.submit(SampleStream(loaded, request, sel))


async def sample_lines(stream: SampleStream, loaded: LoadedModel, request: SampleRequest,
                       sel: ResolvedSelection) -> AsyncIterator[bytes]:
    """Metadata, then a line per generated character; closed early, it frees the stream's row."""
    yield orjson.dumps({"model": loaded.name, "layer": sel.layer, "state": sel.state, "name": sel.name,
                        "units": sel.units, "length": request.length, "prime": request.prime,
                        "unknown": loaded.vocab.encode(request.prime).unknown}) + b"\n"
    try:
        async for i, char, values, p in stream.items():
            yield orjson.dumps({"i": i, **drawn_fields(char, values, p)}) + b"\n"
    finally:
        stream.cancel()
