"""Training snapshots: the weights at a few log-spaced steps, so cells can be followed through training.

A model directory with snapshots holds, beside its final weights:
  snapshots/index.json             {"format", "snapshots": [{"step", "chars_seen", "val_bpc", "file"}, ...]}
  snapshots/step-000025.safetensors  the weights at that step, fp16, named as in model.safetensors

Steps are dense early, where most of the change happens (0, 25, 50, 100, ...), and always include
the last step of the schedule. Snapshot files are plain safetensors: never unpickled, and loaded only
when asked for (a server keeps a few in a small LRU cache, see SnapshotCache).
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from app.engine.checkpoint import CheckpointError, LoadedModel, atomic_write_text, from_file_tensors, save_tensors, to_file_tensors
from app.engine.model import CharRNN, ModelConfig

SNAPSHOT_DIR = "snapshots"
INDEX_FILE = "index.json"
FORMAT = "cell-explorer-snapshots/1"
FIRST_STEP = 25  # the first snapshot after initialisation (long runs): it has just learnt character frequencies


def snapshot_steps(n: int, max_steps: int) -> list[int]:
    """n training steps to keep, log-spaced from 0 to max_steps (both included).

    Between FIRST_STEP and max_steps the steps are geometric; where rounding would make two equal
    (very short schedules), the remaining ones are spread linearly over the steps left, so the
    schedule holds min(n, max_steps + 1) distinct steps.
    """
    if n < 0 or max_steps < 0:
        raise ValueError(f"snapshots and max_steps must be >= 0, got {n} and {max_steps}")
    n = min(n, max_steps + 1)
    if n == 0:
        return []
    if n == 1:
        return [max_steps]
    first = min(FIRST_STEP, max(1, max_steps // 100))  # a short schedule starts its geometric run earlier
    inner = n - 2  # besides 0 and max_steps: first, first * ratio, ..., max_steps / ratio
    ratio = (max_steps / first) ** (1 / inner) if inner else 1.0
    steps = {0, max_steps}
    candidates = [round(first * ratio ** k) for k in range(inner)]
    for step in candidates:
        if len(steps) < n and 0 < step < max_steps:
            steps.add(step)
    for step in range(1, max_steps):  # fill what rounding merged, earliest first
        if len(steps) >= n:
            break
        steps.add(step)
    return sorted(steps)


@dataclass(frozen=True)
class Snapshot:
    step: int
    chars_seen: int
    val_bpc: float
    file: str

    def to_json(self) -> dict:
        return {"step": self.step, "chars_seen": self.chars_seen, "val_bpc": self.val_bpc, "file": self.file}


def snapshot_dir(model_dir: Path) -> Path:
    return Path(model_dir) / SNAPSHOT_DIR


def read_index(model_dir: Path) -> list[Snapshot]:
    """The snapshots of a model directory, by step; [] when it has none."""
    path = snapshot_dir(model_dir) / INDEX_FILE
    if not path.is_file():
        return []
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        if index.get("format") != FORMAT:
            raise CheckpointError(f"{path}: format must be {FORMAT!r}, got {index.get('format')!r}")
        entries = [Snapshot(int(s["step"]), int(s["chars_seen"]), float(s["val_bpc"]), str(s["file"]))
                   for s in index["snapshots"]]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a valid snapshot index ({exc})") from exc
    for entry in entries:  # a file name is a name in this folder, never a path elsewhere
        if Path(entry.file).name != entry.file:
            raise CheckpointError(f"{path}: snapshot file {entry.file!r} must be a file name in {SNAPSHOT_DIR}/")
    return sorted(entries, key=lambda s: s.step)


def save_snapshot(model_dir: Path, model: CharRNN, step: int, chars_seen: int, val_bpc: float) -> Snapshot:
    """Writes the weights at this step (fp16) and adds them to the index, replacing one of the same step."""
    folder = snapshot_dir(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    entry = Snapshot(step, chars_seen, round(val_bpc, 4), f"step-{step:06d}.safetensors")
    save_tensors(folder / entry.file, to_file_tensors(model, torch.float16), metadata={"step": str(step)})
    entries = [s for s in read_index(model_dir) if s.step != step] + [entry]
    index = {"format": FORMAT, "snapshots": [s.to_json() for s in sorted(entries, key=lambda s: s.step)]}
    atomic_write_text(folder / INDEX_FILE, json.dumps(index, indent=1) + "\n")
    return entry


def load_snapshot(loaded: LoadedModel, snapshot: Snapshot) -> LoadedModel:
    """The model as it was at that snapshot: the final model's config and vocabulary, the snapshot's weights."""
    path = snapshot_dir(loaded.path) / snapshot.file
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    model = CharRNN(ModelConfig(**loaded.config["model"]))
    from_file_tensors(model, tensors, str(path))
    model.eval().to(loaded.model.head.weight.device)  # where the final model is served
    return LoadedModel(name=loaded.name, model=model, vocab=loaded.vocab, config=loaded.config,
                       card=loaded.card, path=loaded.path)


class SnapshotCache:
    """At most `capacity` snapshot models in memory, least recently used dropped first.

    A 2x512 LSTM is 13 MB in fp32, so a handful is cheap, while loading all snapshots of all
    models at start-up would be neither (nor needed: most users never move the slider).
    """

    def __init__(self, capacity: int = 8):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._models: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a snapshot was read from disk

    def get(self, loaded: LoadedModel, snapshot: Snapshot) -> LoadedModel:
        key = (loaded.name, snapshot.step)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        model = load_snapshot(loaded, snapshot)  # outside the lock: a slow read blocks no other model
        with self._lock:
            self.loads += 1
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return model

    def __len__(self) -> int:
        return len(self._models)
