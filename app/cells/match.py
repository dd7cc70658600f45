"""Per-unit percentile thresholds for select-and-match (match.safetensors), and the sample's on/off index.

    python -m app.cells.match models/austen-lstm [models/linux-lstm ...] [--threads 1]

A unit is "on" where it is unusually high or unusually low for itself: above its own p-th
percentile on the model's held-out sample (sign +1), or below its (100 - p)-th (sign -1). Units
of very different scales then compare, and a unit that is low across a span (austen-lstm's quote
cell, negative inside quotes) counts like one that is high.

match.safetensors holds, for every hidden state S of every layer ("layers.{l}.h", and "layers.{l}.c"
for an LSTM):
  S.quantiles  (Q, U) float32  the unit's percentiles 0, 0.5, ..., 100 on sample.txt (Q = 201), from one
                               exact pass (the plain float32 capture in chunks that carry the state)
and in its metadata the sample's sha256 and the suggested threshold.

Every value becomes a code: the index of the highest of the unit's percentiles it reaches (0..200), so
that "above the p-th percentile" is code >= 2p and "below the (100 - p)-th" is code < 200 - 2p; the
selection on a user's text and the index of the sample use the same codes. The index itself (one
byte per unit and character: 200 MB for austen-lstm's 2 x 2 x 512 units over 98,173 characters; a
bit per unit and character at one threshold would already be 25 MB, 13 MB compressed) is not
committed: it is computed from the model on the first match and kept in memory (index_for).
"""
from __future__ import annotations

import argparse
import hashlib
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from app.cells.commands import add_threads_option, use_threads
from app.cells.store import SAMPLE_FILE
from app.engine.capture import capture
from app.engine.checkpoint import LoadedModel, load_model_dir, save_tensors
from app.engine.model import CharRNN
from app.engine.names import StateName

MATCH_FILE = "match.safetensors"
QUANTILES_SUFFIX = ".quantiles"
STEP = 0.5  # percent between stored percentiles
LEVELS = int(round(100 / STEP)) + 1  # 201: codes 0..200
MIN_THRESHOLD, MAX_THRESHOLD = 50.5, 99.5  # at 50 every unit would be on, high or low, everywhere
DEFAULT_THRESHOLD = 70.0  # measured: 10-30 character spans of austen-lstm keep 7 / 12 / 21 (quartiles) of 2048 units
CHUNK = 4096  # characters per capture, as in means.py
INDEX_CACHE = 2  # models whose sample index is kept in memory (200 MB each for a 2 x 512 LSTM)


def indexed_states(arch: str, n_layers: int) -> list[str]:
    """The states select-and-match searches: every layer's h, and c for an LSTM (gates are not indexed)."""
    kinds = ["h", "c"] if arch == "lstm" else ["h"]
    return [str(StateName(layer, kind)) for layer in range(n_layers) for kind in kinds]


@torch.no_grad()
def exact_states(model: CharRNN, ids: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """{name: (N, U) float32} over ids in one exact pass (chunks carrying the state), as the page's text reads."""
    ids_t = torch.from_numpy(np.asarray(ids))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    state = None
    for start in range(0, len(ids_t), CHUNK):
        part = capture(model, ids_t[start : start + CHUNK], names, state=state, with_final_state=True)
        state = part.final_state
        for name in names:
            parts[name].append(part.states[name][0].numpy())  # (n, U)
    return {name: np.concatenate(chunks) if chunks else np.zeros((0, model.config.hidden_size), np.float32)
            for name, chunks in parts.items()}


def percentiles(values: np.ndarray) -> np.ndarray:
    """(N, U) -> (LEVELS, U) float32: each unit's percentiles 0, STEP, ..., 100."""
    return np.percentile(values, np.linspace(0, 100, LEVELS), axis=0).astype(np.float32)


def codes(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """(n, U) values -> (U, n) uint8: the highest of the unit's percentiles each value reaches (its index).

    A value equal to many percentiles (a tanh unit saturated at exactly 1.0 on 30% of the sample) gets
    the middle one of them, its midrank, as the ranking's AUROC counts ties: otherwise a unit at its
    minimum most of the time would read as above its 70th percentile there.
    """
    boundaries = torch.from_numpy(np.ascontiguousarray(quantiles.T))  # (U, LEVELS), each row sorted
    found = torch.from_numpy(np.ascontiguousarray(values.T, dtype=np.float32))  # (U, n)
    right = torch.searchsorted(boundaries, found, side="right")  # one batched call: 4x a loop of numpy's
    code = right - 1  # the highest percentile reached, where no percentile equals the value
    tied = boundaries.gather(1, code.clamp(min=0)) == found  # (U, n): the value is one of the percentiles
    for unit in torch.nonzero(tied.any(dim=1)).flatten().tolist():  # few units (saturated ones), few values
        where = tied[unit]
        left = torch.searchsorted(boundaries[unit], found[unit, where], side="left")
        code[unit, where] = (left + right[unit, where] - 1) // 2
    return code.clamp_(0, LEVELS - 1).to(torch.uint8).numpy()


def level(threshold: float) -> int:
    """The code a value must reach to be above the threshold's percentile (70 -> 140)."""
    return int(round(threshold / STEP))


@dataclass
class MatchStore:
    quantiles: dict[str, np.ndarray]  # state name -> (LEVELS, U)
    sample: str
    threshold: float  # suggested default


def load_match(directory: Path) -> MatchStore | None:
    """The model's thresholds, or None when it has none (or sample.txt changed since they were built)."""
    path, sample_path = Path(directory) / MATCH_FILE, Path(directory) / SAMPLE_FILE
    if not (path.is_file() and sample_path.is_file()):
        return None
    sample = sample_path.read_text(encoding="utf-8")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("sample_sha256") != hashlib.sha256(sample.encode("utf-8")).hexdigest():
        return None
    tensors = load_file(str(path))
    quantiles = {key.removesuffix(QUANTILES_SUFFIX): value.numpy() for key, value in tensors.items()
                 if key.endswith(QUANTILES_SUFFIX)}
    return MatchStore(quantiles, sample, float(metadata.get("threshold", DEFAULT_THRESHOLD)))


class _Stores:
    """match.safetensors and the sample index of each served model, loaded on first use.

    Keyed by the LoadedModel object (tests serve many models of one name); a lock per model, so that two
    first requests for a model compute its index once while other models are served.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.stores: dict[int, tuple[weakref.ref, MatchStore | None]] = {}
        self.indexes: dict[int, tuple[weakref.ref, dict[str, np.ndarray]]] = {}  # insertion order = age
        self.building: dict[int, threading.Lock] = {}

    def _get(self, table: dict, loaded: LoadedModel):
        entry = table.get(id(loaded))
        return entry[1] if entry is not None and entry[0]() is loaded else None

    def store(self, loaded: LoadedModel) -> MatchStore | None:
        with self.lock:
            entry = self.stores.get(id(loaded))
            if entry is None or entry[0]() is not loaded:
                entry = (weakref.ref(loaded), load_match(loaded.path) if loaded.path is not None else None)
                self.stores[id(loaded)] = entry
            return entry[1]

    def index(self, loaded: LoadedModel, store: MatchStore) -> dict[str, np.ndarray]:
        with self.lock:
            building = self.building.setdefault(id(loaded), threading.Lock())
        with building:  # one model's index is computed once; the others' requests need not wait for it
            with self.lock:
                found = self._get(self.indexes, loaded)
                if found is not None:
                    self.indexes[id(loaded)] = self.indexes.pop(id(loaded))  # most recently used last
                    return found
            found = sample_index(loaded.model, loaded.vocab.encode(store.sample).ids, store.quantiles)
            with self.lock:
                self.indexes[id(loaded)] = (weakref.ref(loaded), found)
                while len(self.indexes) > INDEX_CACHE:
                    self.indexes.pop(next(iter(self.indexes)))
            return found


STORES = _Stores()


def sample_index(model: CharRNN, ids: np.ndarray, quantiles: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{state name: (U, N) uint8} the codes of every indexed unit at every character of the sample."""
    states = exact_states(model, ids, list(quantiles))
    return {name: codes(states.pop(name), q) for name, q in quantiles.items()}


def build_match(model_dir: Path) -> dict:
    """Writes match.safetensors for the model's sample.txt; returns what it measured."""
    model_dir = Path(model_dir)
    loaded = load_model_dir(model_dir)
    sample_path = model_dir / SAMPLE_FILE
    if not sample_path.is_file():
        raise SystemExit(f"{model_dir}: no {SAMPLE_FILE}; build the cell analysis first: python -m app.cells.build "
                         f"{model_dir}")
    sample = sample_path.read_text(encoding="utf-8")
    cfg = loaded.model.config
    started = time.perf_counter()
    states = exact_states(loaded.model, loaded.vocab.encode(sample).ids, indexed_states(cfg.arch, cfg.n_layers))
    capture_s = time.perf_counter() - started
    tensors = {name + QUANTILES_SUFFIX: torch.from_numpy(percentiles(values)) for name, values in states.items()}
    metadata = {"sample_sha256": hashlib.sha256(sample.encode("utf-8")).hexdigest(),
                "threshold": f"{DEFAULT_THRESHOLD:g}", "step": f"{STEP:g}"}
    save_tensors(model_dir / MATCH_FILE, tensors, metadata)
    return {"model": loaded.name, "chars": len(sample), "states": list(states), "capture_s": round(capture_s, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cells.match", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path)
    add_threads_option(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    for model_dir in args.model_dirs:
        done = build_match(model_dir)
        print(f"{done['model']}: {MATCH_FILE} for {', '.join(done['states'])} over {done['chars']:,} characters "
              f"(capture {done['capture_s']} s)")


if __name__ == "__main__":
    main()
