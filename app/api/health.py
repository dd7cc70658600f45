"""Liveness and model-loading status."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RegistryDep
from app.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="Served models and the ones that failed to load")
def healthz(registry: RegistryDep) -> dict:
    return {"status": "ok", "models": registry.names(), "failed": registry.failures}
