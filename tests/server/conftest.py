"""Server test fixtures: a real SQLite file and a real PostgreSQL database per test session.

Tests share one database per backend and isolate themselves with unique site, gateway and user
ids (the `world` fixture), which keeps the suite fast: creating a PostgreSQL database and
migrating it costs far more than any test.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import ServerSettings
from uplink_builder import JournalBuilder, demo_descriptor

PG_ADMIN_DSN = os.environ.get("CUSTODY_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} is required in CI and unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem}); CI=true makes this a failure")
    name = f"custody_server_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    yield f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


@dataclass
class World:
    """One site with a gateway and a user per role, unique to the test that asked for it."""

    client: TestClient
    site_id: str
    gateway_id: str
    credential: str
    tokens: dict[str, str] = field(default_factory=dict)
    journal: JournalBuilder | None = None

    def auth(self, role: str) -> dict[str, str]:
        # Users are made on first use: argon2 hashing is deliberately slow, so only pay for what a test needs.
        if role not in self.tokens:
            username = f"{role}-{self.site_id[5:]}"
            site = self.site_id if role in ("area_staff", "property_custodian") else None
            created = self.client.post("/api/v1/users", headers=self.auth("admin"), json={
                "username": username, "role": role, "site_id": site, "password": "correct horse battery"})
            assert created.status_code == 201, created.text
            self.tokens[role] = login(self.client, username, "correct horse battery")
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def gw(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    def ingest(self, *entries: dict) -> "httpx.Response":  # noqa: F821 - httpx type
        return self.client.post("/api/v1/ingest", json=self.journal.batch(*entries), headers=self.gw)


def make_world(client: TestClient, admin_token: str, kind: str = "handling_area") -> World:
    tag = uuid.uuid4().hex[:8]
    site_id, gateway_id = f"site-{tag}", f"gw-{tag}"
    admin = {"Authorization": f"Bearer {admin_token}"}
    assert client.post("/api/v1/sites", json={"id": site_id, "name": f"Site {tag}", "kind": kind}, headers=admin).status_code == 201
    reply = client.post(f"/api/v1/sites/{site_id}/gateways", json={"id": gateway_id}, headers=admin)
    assert reply.status_code == 201, reply.text
    world = World(client, site_id, gateway_id, reply.json()["credential"], journal=JournalBuilder(gateway_id, site_id))
    world.tokens["admin"] = admin_token
    described = client.put(f"/api/v1/sites/{site_id}/descriptor", json=demo_descriptor(site_id), headers=world.gw)
    assert described.status_code == 200, described.text
    return world


def login(client: TestClient, username: str, password: str) -> str:
    reply = client.post("/api/v1/login/access-token", data={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]


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
