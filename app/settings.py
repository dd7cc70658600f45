"""The app's settings, read from CELLX_* environment variables (or a .env file)."""
from __future__ import annotations

from pathlib import Path

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CELLX_", env_file=".env", extra="ignore")

    models_dir: Path = Field(PROJECT_ROOT / "models", description="Directory with one sub-directory per model")
    host: str = "127.0.0.1"
    port: int = 8000
    max_text_length: int = Field(100_000, ge=1, description="Longest text accepted, in characters")
    max_values: int = Field(5_000_000, ge=1, description="Most activation values (characters x units) in one response")
    max_rank_chars: int = Field(50_000, ge=1, description="Longest text ranked on the fly (POST .../cells)")
    compute_slots: int = Field(1, ge=1, description="Requests whose model computations run at once; the others "
                               "wait their turn (one chunk at a time). Each computation already uses torch_threads cores")
    rank_slots: int = Field(1, ge=1, description="On-the-fly rankings computed at once (each holds ~0.5 GB)")
    rank_wait_s: float = Field(30.0, ge=0, description="How long a ranking waits for a free slot before a 503")
    log_level: str = "info"
    torch_threads: int | None = Field(None, description="torch intra-op threads; default: torch's own choice")


def get_settings(request: Request) -> Settings:
    """Dependency: the settings the running app was built with (tests build apps with their own)."""
    return request.app.state.settings
