"""Next-character predictions of a chunk: probabilities, bits, the top k, and the top k as JSON.

A 2,000-character answer with top-5 predictions holds 10,000 {"char", "p"} objects. Built as
Python dicts they cost more CPU than the batched model work for those characters, and hold the
GIL while the batcher's workers wait for it between their kernels (docs/benchmarks.md), so the
answers' top k are written as JSON by NumPy: every object is a vocabulary character's pre-encoded
'{"char":"x","p":' and one of the 10,001 possible 4-decimal probabilities, gathered in one
vectorised copy. The bytes are the ones orjson writes for the same dicts (a test checks).

Rounding is NumPy's (np.round, as for the values and the bits); the top k never offers the
unknown symbol, and ties within it go to the lower id. No torch here: these run in request threads, and
torch work outside the compute slots would compete with the batcher for the cores.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import orjson

from app.engine.vocab import UNKNOWN_INDEX, Vocabulary

DECIMALS = 4
_STEPS = 10 ** DECIMALS  # a rounded probability is q / _STEPS, q in 0..10,000


def probabilities(logits: np.ndarray) -> np.ndarray:
    """(n, V) logits -> (n, V) float64 softmax."""
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def log_probabilities(logits: np.ndarray) -> np.ndarray:
    """(n, V) logits -> (n, V) float64 log-softmax (finite where the softmax underflows to 0)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z


def next_bits(probs: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
    """-log2 p of each position's next character, rounded; NaN after the last (JSON null). next_ids: (m,), m <= n."""
    p_next = np.full(len(probs), np.nan)
    p_next[: len(next_ids)] = probs[np.arange(len(next_ids)), next_ids]
    with np.errstate(divide="ignore"):
        return np.round(-np.log2(p_next), DECIMALS)


def top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most probable ids of each row but the unknown symbol, most probable first: ids (n, k), p (n, k).

    A tiny vocabulary has fewer than k known characters: then all of them."""
    negated = -probs
    negated[:, UNKNOWN_INDEX] = 2.0
    k = min(k, probs.shape[-1] - 1)
    chosen = np.argpartition(negated, k - 1, axis=-1)[:, :k]  # (n, k), in no order
    p = np.take_along_axis(probs, chosen, axis=-1)
    order = np.lexsort((chosen, -p), axis=-1)  # most probable first, ties to the lower id
    return np.take_along_axis(chosen, order, axis=-1), np.take_along_axis(p, order, axis=-1)


def top_dicts(probs: np.ndarray, vocab: Vocabulary, k: int) -> list[list[dict]]:
    """The top k as [{"char", "p"}] per row, for answers small enough not to need top_json."""
    ids, p = top_k(probs, k)
    decode = vocab.decode_id
    return [[{"char": decode(i), "p": v} for i, v in zip(row_i, row_p)]
            for row_i, row_p in zip(ids.tolist(), np.round(p, DECIMALS).tolist())]


class TopJson:
    """One vocabulary's pre-encoded pieces of a top-k list: encode() writes many rows' lists at once."""

    def __init__(self, vocab: Vocabulary):
        chars = [orjson.dumps({"char": vocab.decode_id(i)})[:-1] + b',"p":' for i in range(vocab.size)]
        numbers = [orjson.dumps(q / _STEPS) for q in range(_STEPS + 1)]
        # piece kinds: a row's first object opens its list; its last closes it
        kinds = [[b"[" + c for c in chars], chars, [n + b"}," for n in numbers], [n + b"}]" for n in numbers]]
        pieces = [piece for kind in kinds for piece in kind]
        self.offset = np.cumsum([0] + [len(kind) for kind in kinds])[:-1]  # first piece of each kind
        self.lengths = np.array([len(piece) for piece in pieces])
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.table = np.frombuffer(b"".join(pieces), dtype=np.uint8)

    def encode(self, ids: np.ndarray, p: np.ndarray) -> tuple[bytes, np.ndarray]:
        """ids, p (n, k), k >= 1 -> every row's JSON list, concatenated, and the (n + 1,) byte offsets of the rows."""
        n, k = ids.shape
        q = np.rint(p * _STEPS).astype(np.int64)  # np.round(p, 4) == q / 10,000
        char_kind = np.where(np.arange(k) == 0, self.offset[0], self.offset[1])  # (k,)
        number_kind = np.where(np.arange(k) == k - 1, self.offset[3], self.offset[2])
        pieces = np.empty((n, 2 * k), dtype=np.int64)
        pieces[:, 0::2] = ids + char_kind
        pieces[:, 1::2] = q + number_kind
        if k == 1:  # one object both opens and closes its list
            pieces[:, 1] = q[:, 0] + self.offset[3]
        lengths = self.lengths[pieces].ravel()  # (n * 2k,)
        ends = np.cumsum(lengths)
        # byte j of the output is byte (j - the piece's output start) of the piece in the table
        source = np.repeat(self.starts[pieces].ravel() - (ends - lengths), lengths) + np.arange(ends[-1] if n else 0)
        rows = np.concatenate([[0], ends[2 * k - 1 :: 2 * k]])
        return self.table[source].tobytes(), rows

    def lists(self, ids: np.ndarray, p: np.ndarray) -> orjson.Fragment:
        """The rows' lists as one JSON array, to embed in an orjson answer."""
        if len(ids) == 0:
            return orjson.Fragment(b"[]")
        body, rows = self.encode(ids, p)
        return orjson.Fragment(b"[" + b",".join(body[a:b] for a, b in zip(rows[:-1], rows[1:])) + b"]")

    def each(self, ids: np.ndarray, p: np.ndarray) -> list[orjson.Fragment]:
        """Each row's list on its own (a streamed line each)."""
        if len(ids) == 0:
            return []
        body, rows = self.encode(ids, p)
        return [orjson.Fragment(body[a:b]) for a, b in zip(rows[:-1].tolist(), rows[1:].tolist())]


@lru_cache(maxsize=64)
def top_json(vocab: Vocabulary) -> TopJson:
    return TopJson(vocab)
