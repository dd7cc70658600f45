"""Wires the app: settings, model registry (loaded in the lifespan), routers, errors, static files."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from app.api import activations, attribution, cells, docs, health, importance, interventions, models, pages, sample
from app.api import match as match_api
from app.engine.device import exact_float32, resolve_device
from app.engine.snapshots import SnapshotCache
from app.errors import install_error_handlers
from app.limits import BodySizeLimitMiddleware, document_body_limit
from app.registry import ModelRegistry
from app.services.match import warm_up
from app.services.batcher import Batcher
from app.security import SecurityHeadersMiddleware
from app.settings import PROJECT_ROOT, Settings

DESCRIPTION = """Per-character hidden states of character-level RNN, LSTM and GRU language models.

Pick a model, a layer, a state (`h`, `c`, a gate) and units; send text; get one value per
character per unit. State names are stable: `layers.1.c` is layer 1's LSTM cell state."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # uvicorn's trace is finer than Python logging's finest level
        logging.getLogger("cellx").setLevel("DEBUG" if settings.log_level == "trace" else settings.log_level.upper())
        threads_before = torch.get_num_threads()
        torch.set_num_threads(settings.torch_threads)  # before any model work, so that every thread starts with it
        try:
            device = resolve_device(settings.device)  # ValueError: cuda asked for without a GPU: the server stops
            if device.type == "cuda":
                exact_float32()
            logging.getLogger("cellx").info("models compute on %s", device)
            app.state.registry = await run_in_threadpool(ModelRegistry.load, settings.models_dir, device)
            app.state.batcher.check_shapes([loaded.model for loaded in app.state.registry.models.values()])
            if settings.match_warm_up:
                warm_up(list(app.state.registry.models.values()))
            yield
            await run_in_threadpool(app.state.batcher.stop)
        finally:
            torch.set_num_threads(threads_before)  # the process's torch as it was (an app made in a notebook, a test)

    # /docs is served by app.api.docs from local assets; ReDoc would need a CDN, so it is off
    app = FastAPI(title="Cell Explorer", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.compute_slots = threading.BoundedSemaphore(settings.compute_slots)  # why: app/api/deps.py
    app.state.rank_slots = threading.BoundedSemaphore(settings.rank_slots)
    app.state.batcher = Batcher(settings.batch_streams, settings.batch_chars, settings.max_streams, settings.max_queue,
                                settings.retry_after_s, app.state.compute_slots, workers=settings.compute_slots)
    app.state.snapshot_cache = SnapshotCache(settings.snapshot_cache)
    app.state.registry = ModelRegistry()  # replaced in the lifespan
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)  # added last, so it is outermost: its headers go on the 413s too
    install_error_handlers(app)
    for router in (pages.router, docs.router, models.router, cells.router, importance.router, activations.router,
                   interventions.router, attribution.router, sample.router, health.router):
        app.include_router(router)
    app.include_router(match_api.router)
    document_body_limit(app)
    app.mount(docs.ASSETS, docs.assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    return app


app = create_app()
