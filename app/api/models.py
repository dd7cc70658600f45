"""Listing the served models and describing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from app.engine.checkpoint import LoadedModel
from app.registry import ModelRegistry, get_registry
from app.schemas import ErrorResponse, ModelDetail, ModelSummary
from app.services.selection import find_model, short_state_names

router = APIRouter(prefix="/api/models", tags=["models"])


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
    }


@router.get("", response_model=list[ModelSummary], summary="List the served models")
def list_models(registry: ModelRegistry = Depends(get_registry)) -> list[dict]:
    return [summarize(loaded, registry) for loaded in registry.models.values()]


@router.get("/{name}", response_model=ModelDetail, responses={404: {"model": ErrorResponse}},
            summary="One model: architecture, vocabulary, training details, losses and model card")
def get_model(name: str, registry: ModelRegistry = Depends(get_registry)) -> dict:
    loaded = find_model(registry, name)
    training = {k: v for k, v in loaded.config.get("training", {}).items() if k != "history"}
    return {**summarize(loaded, registry), "vocab": list(loaded.vocab.chars), "card": loaded.card, "training": training,
            "results": loaded.config.get("results", {})}
