"""What the routers take from the running app: the registry, the settings, the batcher, and the compute and
rank slots.

Compute slots: one per core by default, each computation on one core (torch_threads 1), so
computations run side by side instead of twenty at once oversubscribing the cores twenty-fold.
Model work therefore takes turns at the slots: each batched pass of the batcher's workers
(activations, samples and interventions of every request at once, app/services/batcher.py) and
each of the other computations (rankings, importance, attribution, ...).

Rank slots: an on-the-fly ranking holds about 0.5 GB while it runs, so they bound memory, not
just CPU; a ranking that finds every slot busy for `rank_wait_s` gets a 503.
"""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import Depends, Request

from app.engine.snapshots import SnapshotCache
from app.errors import InputError
from app.registry import ModelRegistry
from app.services.batcher import Batcher
from app.settings import Settings


def get_registry(request: Request) -> ModelRegistry:
    """The registry loaded in the app's lifespan."""
    return request.app.state.registry


def get_settings(request: Request) -> Settings:
    """The settings the running app was built with (tests build apps with their own)."""
    return request.app.state.settings


def get_batcher(request: Request) -> Batcher:
    """The app's batcher: activations and samples computed as rows of shared batched passes (its docstring)."""
    return request.app.state.batcher


def get_compute_slot(request: Request) -> AbstractContextManager:
    """Held around every model computation of a request; waits as long as it takes."""
    return request.app.state.compute_slots


class RankSlot:
    """One of the app's rank slots, taken on entering with the configured wait, or a 503.

    A context manager rather than a dependency that takes the slot itself: dependencies run
    before the body is validated, so a malformed request would wait for a busy slot before its 422.
    """

    def __init__(self, slots: threading.BoundedSemaphore, settings: Settings):
        self.slots, self.settings = slots, settings

    def __enter__(self) -> None:
        if not self.slots.acquire(timeout=self.settings.rank_wait_s):
            raise InputError(503, f"busy: {self.settings.rank_slots} ranking(s) already running and none finished "
                                  f"within {self.settings.rank_wait_s:g} s; try again shortly")

    def __exit__(self, *exc) -> None:
        self.slots.release()


def get_rank_slot(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> RankSlot:
    return RankSlot(request.app.state.rank_slots, settings)


def get_snapshot_cache(request: Request) -> SnapshotCache:
    """The snapshot models loaded so far (lazily, least recently used dropped first)."""
    return request.app.state.snapshot_cache


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SnapshotCacheDep = Annotated[SnapshotCache, Depends(get_snapshot_cache)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ComputeSlotDep = Annotated[AbstractContextManager, Depends(get_compute_slot)]
BatcherDep = Annotated[Batcher, Depends(get_batcher)]
RankSlotDep = Annotated[RankSlot, Depends(get_rank_slot)]
