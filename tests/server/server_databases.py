"""Throw-away PostgreSQL databases on the machine's server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import os
import uuid

import psycopg

PG_ADMIN_DSN = os.environ.get("CUSTODY_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc)


def create_database(prefix: str) -> tuple[str, str]:
    """(name, SQLAlchemy URL) of a new empty database."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
