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
    cookie_secure: bool = Field(False, description="always mark the login cookie Secure (it is anyway when the request came over HTTPS)")
    trusted_proxies: list[str] = Field(
        ["127.0.0.1", "::1"],
        description="addresses or networks of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed "
                    "(JSON list in the environment)",
    )
    request_max_bytes: int = Field(1024 * 1024, gt=0, description="body limit of every route but ingest; more is 413")
    # Log-in throttling (core_ext/throttle.py): free failures, then 1 s, 2 s, 4 s ... up to the cap.
    login_free_failures_account: int = Field(3, ge=0)
    login_free_failures_address: int = Field(10, ge=0)
    login_backoff_base_s: float = Field(1.0, gt=0)
    login_backoff_max_s: float = Field(900.0, gt=0)
    login_parallel_per_address: int = Field(4, gt=0, description="log-ins checked at once from one address")
    # Concurrent argon2 work (each costs ~50 ms of a core and 64 MiB): more log-ins wait their
    # turn on the event loop, and past `password_queue_max` waiting they are answered 503.
    password_workers: int = Field(2, gt=0)
    password_queue_max: int = Field(64, gt=0)
    migrate_on_start: bool = Field(True, description="apply Alembic migrations when the app starts")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
