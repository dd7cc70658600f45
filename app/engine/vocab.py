"""Character vocabulary with an explicit unknown symbol.

Index 0 is reserved for characters the model never saw. Encoding never drops,
normalises or replaces characters: one id per input character, so positions in the
output always line up with positions in the text, and the caller learns which
positions were unknown.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNKNOWN_INDEX = 0
UNKNOWN_SYMBOL = "\ufffd"  # shown for the unknown row in listings; never produced by encode


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # (T,) int64, one id per character of the text
    unknown: list[int]  # positions whose character is not in the vocabulary


@dataclass(frozen=True)
class Vocabulary:
    chars: tuple[str, ...]  # known characters; char i has id i + 1
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("vocabulary characters must be distinct")
        if any(len(ch) != 1 for ch in self.chars):
            raise ValueError("every vocabulary entry must be exactly one character")
        object.__setattr__(self, "_index", {ch: i + 1 for i, ch in enumerate(self.chars)})

    @classmethod
    def from_text(cls, *texts: str) -> "Vocabulary":
        return cls(tuple(sorted(set().union(*map(set, texts)))))

    @property
    def size(self) -> int:
        """Number of output classes: known characters plus the unknown symbol."""
        return len(self.chars) + 1

    def __contains__(self, ch: str) -> bool:
        return ch in self._index

    def encode(self, text: str) -> Encoded:
        index = self._index
        ids = np.fromiter((index.get(ch, UNKNOWN_INDEX) for ch in text), dtype=np.int64, count=len(text))
        unknown = np.flatnonzero(ids == UNKNOWN_INDEX).tolist()
        return Encoded(ids=ids, unknown=unknown)

    def decode_id(self, idx: int) -> str:
        """The character for an output class; the unknown class decodes to UNKNOWN_SYMBOL."""
        if idx == UNKNOWN_INDEX:
            return UNKNOWN_SYMBOL
        return self.chars[idx - 1]

    def to_json(self) -> dict:
        return {"unknown_index": UNKNOWN_INDEX, "chars": list(self.chars)}

    @classmethod
    def from_json(cls, data: dict) -> "Vocabulary":
        if data.get("unknown_index", UNKNOWN_INDEX) != UNKNOWN_INDEX:
            raise ValueError(f"unsupported unknown_index {data.get('unknown_index')!r}; expected {UNKNOWN_INDEX}")
        return cls(tuple(data["chars"]))
