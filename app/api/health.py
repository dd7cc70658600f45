"""Liveness and model-loading status."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from app.registry import ModelRegistry, get_registry
from app.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="Served models and the ones that failed to load")
def healthz(registry: ModelRegistry = Depends(get_registry)) -> dict:
    return {"status": "ok", "models": registry.names(), "failed": registry.failures}
