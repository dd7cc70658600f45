"""The app's settings, read from CELLX_* environment variables (or a .env file)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CELLX_", env_file=".env", extra="ignore")

    models_dir: Path = Field(PROJECT_ROOT / "models", description="Directory with one sub-directory per model")
    host: str = Field("127.0.0.1", description="Address the server listens on (0.0.0.0: every interface)")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on")
    max_text_length: int = Field(100_000, ge=1, description="Longest text accepted, in characters")
    max_body_bytes: int = Field(4_000_000, ge=1, description="Largest request body accepted, in bytes (a 100,000-"
                                "character text is at most 1.2 MB of JSON)")
    max_values: int = Field(5_000_000, ge=1, description="Most activation values (characters x units) in one response")
    max_rank_chars: int = Field(50_000, ge=1, description="Longest text ranked on the fly (POST .../cells)")
    compute_slots: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="Model computations "
                               "that run at once (a batched pass of activations, samples and interventions, a "
                               "ranking, ...), each on torch_threads cores; the others wait for a free slot. The "
                               "batcher runs one worker per slot. Default: one per core")
    rank_slots: int = Field(1, ge=1, description="On-the-fly rankings computed at once (each holds ~0.5 GB)")
    match_warm_up: bool = Field(True, description="Build the select-and-match index of the first two models in the "
                                "background at start-up, so that their first match need not wait for it")
    snapshot_cache: int = Field(8, ge=1, description="Training snapshots kept loaded at once, over all models")
    rank_wait_s: float = Field(30.0, ge=0, description="How long a ranking waits for a free slot before a 503")
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = Field(
        "info", description="How much the server logs (uvicorn's levels)")
    torch_threads: int = Field(1, ge=1, description="torch intra-op threads of each computation. 1 (default): "
                               "computations run side by side, one per core (compute_slots); more threads per "
                               "computation make each of them slower here (app/services/batcher.py says why)")
    batch_streams: int = Field(8, ge=1, le=256, description="Most rows of a batched pass (app/services/batcher.py): "
                               "requests computed together. A pass is padded to 2, 4, 8, ... up to this, to the sizes "
                               "the batcher checked give the same bits, so that an answer does not depend on the load")
    batch_chars: int = Field(128, ge=1, le=8192, description="Characters a stream reads per batched pass (generation "
                             "steps per pass for a sample): the time to a stream's next lines")
    max_streams: int = Field(64, ge=1, description="Streams computing at once: one per request for activations and "
                             "samples, two for an intervention or a steered sample (plain and intervened); more wait")
    max_queue: int = Field(64, ge=0, description="Streams waiting for a place among max_streams; beyond this "
                           "a request gets a 503 with Retry-After")
    retry_after_s: int = Field(2, ge=1, description="The Retry-After seconds of a 503 when the server is full")
    device: Literal["cpu", "auto", "cuda"] = Field(
        "cpu", description="Where the models compute: cpu, cuda (a GPU; the server refuses to start without one) "
        "or auto (a GPU when torch sees one). Values come back the same to 1e-5, not bit for bit")

