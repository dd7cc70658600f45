"""Liveness, model-loading status and the batcher's load."""
from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import BatcherDep, RegistryDep
from app.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse,
            summary="Served models, the ones that failed to load, and the requests computing and queued")
def healthz(registry: RegistryDep, batcher: BatcherDep) -> dict:
    return {"status": "ok", "models": registry.names(), "failed": registry.failures, **batcher.depth()}
