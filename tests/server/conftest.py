"""Server test fixtures: a real SQLite file and a real PostgreSQL database per test session.

Tests share one database per backend and isolate themselves with unique site, gateway and user
ids (the `world` fixture), which keeps the suite fast: creating a PostgreSQL database and
migrating it costs far more than any test.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from server_databases import IN_CI, PG_ADMIN_DSN, create_database, drop_database, pg_unreachable
from server_world import World, login, make_world

from server.app import create_app
from server.settings import ServerSettings


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    problem = pg_unreachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} is required in CI and unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem}); CI=true makes this a failure")
    name, url = create_database("custody_server_test")
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('server-db') / 'server.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def settings(database_url: str) -> ServerSettings:
    return ServerSettings(database_url=database_url, ingest_max_entries=500, ingest_max_bytes=512 * 1024)


@pytest.fixture(scope="session")
def client(settings: ServerSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def admin_token(client: TestClient, settings: ServerSettings) -> str:
    from server.db import make_engine, make_session_factory
    from server.schemas.users import UserCreate
    from server.security import now_ms
    from server.services.users import create_user

    engine = make_engine(settings.database_url)
    username = f"admin-{uuid.uuid4().hex[:6]}"
    with make_session_factory(engine)() as session:
        create_user(session, UserCreate(username=username, role="admin", password="admin password 1"), now_ms())
    engine.dispose()
    return login(client, username, "admin password 1")


@pytest.fixture
def world(client: TestClient, admin_token: str) -> World:
    return make_world(client, admin_token)
