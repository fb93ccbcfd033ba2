"""Users, roles and site scope: every route but health, login and docs needs valid credentials."""

from __future__ import annotations

import pytest
from server_world import login, make_world

from server.security import now_ms

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

PUBLIC_PATHS = {
    "/healthz",
    "/api/v1/login/access-token",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/login",
}


PAGE_PATHS = [
    "/",
    "/alerts",
    "/sites/{site_id}",
    "/sites/{site_id}/subjects/{person}",
    "/sites/{site_id}/subjects/{person}/report",
    "/sites/{site_id}/items",
    "/sites/{site_id}/items/{item}",
    "/supervision/daily",
    "/supervision/weekly",
    "/supervision/monthly",
    "/supervision/alerts?from=0&to=1",
    "/supervision/trails?from=0&to=1",
    "/supervision/daily.csv",
    "/supervision/monthly.xlsx",
]


def _concrete(path: str) -> str:
    return (
        path.replace("{site_id}", "x")
        .replace("{person}", "p")
        .replace("{item}", "i")
        .replace("{alert_id}", "1")
        .replace("{user_id}", "1")
    )


def test_every_route_but_health_login_and_docs_is_401_without_credentials(client):
    # FastAPI includes routers lazily, so walk the OpenAPI document (every API route) plus the pages.
    schema = client.get("/openapi.json").json()
    routes = [(path, [m.upper() for m in item]) for path, item in schema["paths"].items()]
    routes += [(path, ["GET"]) for path in PAGE_PATHS] + [("/logout", ["POST"])]
    checked = 0
    for path, methods in routes:
        if path in PUBLIC_PATHS or path.startswith("/static"):
            continue
        for method in methods:
            reply = client.request(method, _concrete(path))
            assert reply.status_code == 401, f"{method} {path} answered {reply.status_code} without credentials"
            reply = client.request(method, _concrete(path), headers={"Authorization": "Bearer cut_forged"})
            assert reply.status_code == 401, f"{method} {path} accepted a forged token"
            checked += 1
    assert checked >= 20
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200


def test_openapi_documents_the_uplink_batch(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IngestBatch"}
    kinds = {v["properties"]["kind"]["enum"][0] for v in schema["components"]["schemas"]["IngestEntry"]["oneOf"]}
    assert kinds == {"event", "alert", "location", "custody", "trail", "item_trail", "health", "signature"}


def test_wrong_password_and_expired_token(client, settings, world):
    assert client.post("/api/v1/login/access-token", data={"username": "nobody", "password": "x"}).status_code == 400
    from sqlalchemy import select

    from server.db import make_engine, make_session_factory
    from server.models import User
    from server.services.users import issue_token

    world.auth("center_monitor")  # creates the user
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        user = session.execute(
            select(User).where(User.role == "center_monitor", User.username.like(f"%{world.site_id[5:]}"))
        ).scalar_one()
        token, _ = issue_token(session, user, now_ms() - 10_000, ttl_s=1)  # expired 9 s ago
    engine.dispose()
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/users/me", headers=world.auth("center_monitor")).json()["role"] == "center_monitor"


def test_logout_revokes_the_token(client, world):
    world.auth("area_staff")  # creates the user
    token = login(client, f"area_staff-{world.site_id[5:]}", "correct horse battery")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    assert client.post("/api/v1/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401


def test_site_scope(client, admin_token, world):
    other = make_world(client, admin_token)
    staff = world.auth("area_staff")
    assert client.get(f"/api/v1/sites/{world.site_id}/board", headers=staff).status_code == 200
    assert client.get(f"/api/v1/sites/{other.site_id}/board", headers=staff).status_code == 404
    assert client.get(f"/api/v1/live?site_id={other.site_id}", headers=staff).status_code == 404
    visible = {s["id"] for s in client.get("/api/v1/sites", headers=staff).json()}
    assert visible == {world.site_id}
    overview = {s["site_id"] for s in client.get("/api/v1/board", headers=staff).json()["sites"]}
    assert overview == {world.site_id}
    monitor_view = {s["id"] for s in client.get("/api/v1/sites", headers=world.auth("center_monitor")).json()}
    assert {world.site_id, other.site_id} <= monitor_view
    assert client.get(f"/api/v1/alerts?site_id={other.site_id}", headers=staff).status_code == 404


def test_roles(client, world):
    site = world.site_id
    # custodians see the property ledger, not subject trails; area staff the reverse
    assert client.get(f"/api/v1/sites/{site}/items", headers=world.auth("property_custodian")).status_code == 200
    assert (
        client.get(f"/api/v1/sites/{site}/subjects/p1/trail", headers=world.auth("property_custodian")).status_code
        == 403
    )
    assert client.get(f"/api/v1/sites/{site}/items", headers=world.auth("area_staff")).status_code == 403
    # only admins manage users, sites and gateways
    for role in ("center_monitor", "area_staff", "property_custodian"):
        h = world.auth(role)
        assert client.get("/api/v1/users", headers=h).status_code == 403
        assert client.post("/api/v1/sites", json={"id": "nope", "name": "n"}, headers=h).status_code == 403
        assert client.post(f"/api/v1/sites/{site}/gateways", json={"id": "nope"}, headers=h).status_code == 403


def test_user_validation_names_the_field(client, world):
    reply = client.post(
        "/api/v1/users",
        headers=world.auth("admin"),
        json={"username": "x y", "role": "area_staff", "site_id": world.site_id, "password": "long enough"},
    )
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == "username"
    reply = client.post(
        "/api/v1/users",
        headers=world.auth("admin"),
        json={"username": "staffless", "role": "area_staff", "password": "long enough"},
    )
    assert reply.status_code == 422
    assert "site_id is required" in reply.json()["detail"][0]["msg"]


def test_disabled_user_loses_access(client, world):
    admin = world.auth("admin")
    world.auth("center_monitor")  # creates the user
    users = client.get("/api/v1/users", headers=admin).json()
    monitor = next(u for u in users if u["username"] == f"center_monitor-{world.site_id[5:]}")
    assert client.patch(f"/api/v1/users/{monitor['id']}", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/users/me", headers=world.auth("center_monitor")).status_code == 401


def test_passwords_are_argon2_hashed(settings, world):
    world.auth("area_staff"), world.auth("property_custodian")  # creates the users
    from sqlalchemy import select

    from server.db import make_engine
    from server.models import User

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        hashes = conn.execute(select(User.password_hash).where(User.site_id == world.site_id)).scalars().all()
    engine.dispose()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_pages_render_for_a_logged_in_user(client, world):
    j = world.journal
    world.auth("center_monitor")  # creates the user
    world.ingest(j.custody(1_763_700_000_000, "sus-p", "in"), j.location(1_763_700_000_000, "sus-p", "wait1"))
    try:
        page = client.post(
            "/login",
            data={
                "username": f"center_monitor-{world.site_id[5:]}",
                "password": "correct horse battery",
                "next": "/alerts",
            },
            follow_redirects=False,
        )
        assert page.status_code == 303 and page.headers["location"] == "/alerts"
        assert (
            "httponly" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
        )
        assert client.cookies.get("custody_token")  # the client keeps it, as a browser would
        for path in (
            "/",
            "/alerts",
            f"/sites/{world.site_id}",
            f"/sites/{world.site_id}/subjects/sus-p",
            f"/sites/{world.site_id}/subjects/sus-p/report",
            f"/sites/{world.site_id}/items",
        ):
            reply = client.get(path)
            assert reply.status_code == 200, f"{path}: {reply.status_code} {reply.text[:200]}"
        # an open redirect through the login form is refused
        evil = client.post(
            "/login",
            data={
                "username": f"center_monitor-{world.site_id[5:]}",
                "password": "correct horse battery",
                "next": "//evil.example",
            },
            follow_redirects=False,
        )
        assert evil.headers["location"] == "/"
    finally:
        client.cookies.clear()  # the client is shared: later tests must start logged out


def test_rotating_a_gateway_credential_retires_the_old_one(client, world):
    old = world.gw
    assert client.get("/api/v1/gateway/state", headers=old).status_code == 200
    assert (
        client.post(f"/api/v1/gateways/{world.gateway_id}/credential", headers=world.auth("center_monitor")).status_code
        == 403
    )
    reply = client.post(f"/api/v1/gateways/{world.gateway_id}/credential", headers=world.auth("admin"))
    assert reply.status_code == 200
    assert client.get("/api/v1/gateway/state", headers=old).status_code == 401
    new = {"Authorization": f"Bearer {reply.json()['credential']}"}
    assert client.get("/api/v1/gateway/state", headers=new).json()["gateway_id"] == world.gateway_id
