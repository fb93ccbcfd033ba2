"""Typed server settings, read from the environment (prefix CUSTODY_SERVER_) or passed in."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTODY_SERVER_", extra="forbid")

    database_url: str = Field(
        "sqlite:///./custody-server.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    token_ttl_s: int = Field(8 * 3600, gt=0, description="lifetime of a user's bearer token")
    ingest_max_entries: int = Field(10_000, gt=0, description="entries per batch; more is 413")
    ingest_max_bytes: int = Field(16 * 1024 * 1024, gt=0, description="request body size; more is 413")
    # SQLite has no LISTEN/NOTIFY: each process polls the per-site version counters this often.
    live_poll_interval_s: float = Field(0.2, gt=0)
    # Server-sent events send a comment this often so proxies keep idle streams open.
    live_keepalive_s: float = Field(15.0, gt=0)
    cookie_secure: bool = Field(False, description="mark the login cookie Secure (behind HTTPS)")
    migrate_on_start: bool = Field(True, description="apply Alembic migrations when the app starts")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
