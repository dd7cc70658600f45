"""Describing the served models: the summary every listing shows, and the detail of one model."""
from __future__ import annotations

from app.engine.checkpoint import LoadedModel
from app.registry import ModelRegistry
from app.services.selection import short_state_names
from app.services.snapshots import snapshots_of


def summarize(loaded: LoadedModel, registry: ModelRegistry) -> dict:
    cfg = loaded.model.config
    results = loaded.config.get("results", {})
    return {
        "name": loaded.name, "arch": cfg.arch, "layers": cfg.n_layers, "hidden_size": cfg.hidden_size,
        "vocab_size": cfg.vocab_size, "parameters": loaded.model.num_parameters(),
        "input": f"embedding:{cfg.embedding_size}" if cfg.embedding_size else "one-hot",
        "states": short_state_names(loaded), "corpus": loaded.config.get("corpus", {}).get("name", "unknown"),
        "test_bpc": results.get("test_bpc"), "ngram_test_bpc": results.get("ngram", {}).get("test_bpc"),
        "has_cells": loaded.name in registry.cells,
        "snapshots": [s.step for s in snapshots_of(loaded)],
    }


def describe(loaded: LoadedModel, registry: ModelRegistry) -> dict:
    """The summary plus vocabulary, card, training details (without the long history) and results."""
    training = {k: v for k, v in loaded.config.get("training", {}).items() if k != "history"}
    return {**summarize(loaded, registry), "vocab": list(loaded.vocab.chars), "card": loaded.card,
            "training": training, "results": loaded.config.get("results", {})}
