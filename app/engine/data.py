"""Corpora, train/val/test splits and the batch streams for truncated BPTT.

Each file is split on its own: the head is training text, then a contiguous tail is cut
into validation and test text, so that both held-out splits span every file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.engine.vocab import Vocabulary


@dataclass(frozen=True)
class CorpusFile:
    path: str
    text: str
    sha256: str


@dataclass(frozen=True)
class Splits:
    train: str
    val: str
    test: str


def read_corpus(paths: list[Path]) -> list[CorpusFile]:
    """Reads text files (directories are searched recursively), in byte order of their paths."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: str(p).encode()) if path.is_dir() else [path])
    if not files:
        raise ValueError(f"no text files found in {[str(p) for p in paths]}")
    out = []
    for path in files:
        raw = path.read_bytes()
        out.append(CorpusFile(path=str(path), text=raw.decode("utf-8"), sha256=hashlib.sha256(raw).hexdigest()))
    return out


def corpus_sha256(files: list[CorpusFile]) -> str:
    """sha256 of the files' contents (UTF-8) concatenated in the order read."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.text.encode("utf-8"))
    return digest.hexdigest()


def split_corpus(files: list[CorpusFile], val_fraction: float, test_fraction: float) -> Splits:
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be in (0, 1) and sum below 1")
    train, val, test = [], [], []
    for f in files:
        n = len(f.text)
        n_test = max(1, round(n * test_fraction))
        n_val = max(1, round(n * val_fraction))
        cut_val, cut_test = n - n_val - n_test, n - n_test
        train.append(f.text[:cut_val])
        val.append(f.text[cut_val:cut_test])
        test.append(f.text[cut_test:])
    return Splits(train="".join(train), val="".join(val), test="".join(test))


def stream_batches(ids: np.ndarray, batch_size: int, seq_len: int, offset: int = 0):
    """Yields (inputs, targets) of shape (B, T) for truncated BPTT.

    The text is cut into B contiguous streams; consecutive batches continue each stream,
    so the recurrent state can be carried from one batch to the next. `offset` shifts
    where the streams start (a different cut each epoch).
    """
    ids = np.roll(ids, -offset) if offset else ids
    stream_len = (len(ids) - 1) // batch_size
    if stream_len < 1:
        raise ValueError(f"text of {len(ids)} characters is too short for {batch_size} streams")
    usable = stream_len * batch_size
    x = torch.from_numpy(ids[:usable].reshape(batch_size, stream_len))
    y = torch.from_numpy(ids[1 : usable + 1].reshape(batch_size, stream_len))
    for start in range(0, stream_len, seq_len):
        yield x[:, start : start + seq_len], y[:, start : start + seq_len]


def batches_per_epoch(n_chars: int, batch_size: int, seq_len: int) -> int:
    return -(-((n_chars - 1) // batch_size) // seq_len)


def encode_split(vocab: Vocabulary, text: str) -> np.ndarray:
    return vocab.encode(text).ids
