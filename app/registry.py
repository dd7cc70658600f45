"""The loaded models, keyed by directory name, and the directories that failed to load."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from app.cells.store import CellStore, load_store
from app.engine.checkpoint import CheckpointError, LoadedModel, load_model_dir

log = logging.getLogger("cellx.registry")


@dataclass
class ModelRegistry:
    models: dict[str, LoadedModel] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # name -> why it did not load
    cells: dict[str, CellStore] = field(default_factory=dict)  # name -> stored cell analysis, where built

    @classmethod
    def load(cls, models_dir: Path, device: torch.device | None = None) -> "ModelRegistry":
        """Every model directory under models_dir, its weights on `device` (default: the CPU)."""
        registry = cls()
        if not models_dir.is_dir():
            log.error("models directory %s does not exist; serving no models", models_dir)
            return registry
        for directory in sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            try:
                loaded = load_model_dir(directory)
                if device is not None:
                    loaded.model.to(device)
                registry.models[directory.name] = loaded
                log.info("loaded model %s from %s", directory.name, directory)
            except CheckpointError as exc:
                registry.failures[directory.name] = str(exc)
                log.error("skipping model %s: %s", directory.name, exc)
                continue
            try:
                store = load_store(directory)
            except (OSError, ValueError) as exc:  # a broken analysis must not take the model down with it
                log.error("model %s: cell analysis not loaded: %s", directory.name, exc)
                continue
            if store is not None:
                registry.cells[directory.name] = store
        return registry

    def names(self) -> list[str]:
        return list(self.models)

