"""Property-based fuzzing of the center's API from its own OpenAPI document (schemathesis),
bounded: a few examples per operation. No answer is a 5xx, and every answer matches its schema.

The fuzzer logs out, deactivates users and rotates credentials at random, so it runs against a
database of its own (SQLite and PostgreSQL). Users' routes get a fresh admin token per
operation, gateway routes the gateway's credential (each operation's `security` says which),
so the fuzzing reaches the handlers, not just the 401.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from server_databases import create_database, drop_database
from server_world import login, make_world

from server.app import create_app
from server.db import make_engine, make_session_factory
from server.schemas.users import UserCreate
from server.security import now_ms
from server.services.users import create_user

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

EXAMPLES_PER_OPERATION = 4
# Server-sent events never end: a fuzzed request would wait for ever (tests/server/test_server_live.py covers it).
NOT_FUZZED = {"GET /api/v1/live"}
ADMIN_PASSWORD = "fuzzing admin password"
# No 5xx; bodies, content types and headers as documented. (Schemathesis's positive-data check is
# left out: rules across fields, such as "site_id is required for area staff", are not in a JSON
# schema, so schema-valid bodies may rightly be 422.)
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance,
          checks.response_headers_conformance]


@pytest.fixture
def fuzz_client(settings, tmp_path) -> Iterator[tuple[TestClient, str]]:
    dropped = None
    if settings.is_sqlite:
        url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    else:
        dropped, url = create_database("custody_fuzz")
    # the fuzzer's bogus log-ins must not throttle the admin's (tests/server/test_server_limits.py covers throttling)
    app = create_app(settings.model_copy(update={"database_url": url, "login_free_failures_address": 100_000,
                                                 "login_parallel_per_address": 1000}))
    try:
        with TestClient(app) as client:
            engine = make_engine(url)
            username = f"fuzz-admin-{uuid.uuid4().hex[:6]}"
            with make_session_factory(engine)() as session:
                create_user(session, UserCreate(username=username, role="admin", password=ADMIN_PASSWORD), now_ms())
            engine.dispose()
            yield client, username
    finally:
        if dropped:
            drop_database(dropped)


def _fuzzer(operation, headers):
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers(), checks=CHECKS)

    return run


def test_api_never_errors_and_answers_match_the_schema(fuzz_client):
    client, admin = fuzz_client
    world = make_world(client, login(client, admin, ADMIN_PASSWORD))
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)  # this app, its lifespan running
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in NOT_FUZZED:
            continue
        operations += 1
        security = operation.definition.raw.get("security") or []
        if any("GatewayCredential" in requirement for requirement in security):
            def headers(world=world) -> dict[str, str]:
                return world.gw
        else:
            token = login(client, admin, ADMIN_PASSWORD)  # the fuzzer may log it out

            def headers(token=token) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}
        try:
            _fuzzer(operation, headers)()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected per operation, reported below
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
