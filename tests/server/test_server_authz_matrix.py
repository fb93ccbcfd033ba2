"""Authorization matrix: every route × role (admin, center monitor, area staff, property
custodian) × own or other site. Routes are enumerated from the app, so a route added without a
line in MATRIX fails this test; a route's line names its policy, and the policy says who may.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from server_world import login, make_world
from starlette.routing import Mount

from server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

T0 = 1_763_700_000_000
ROLES = ("admin", "center_monitor", "area_staff", "property_custodian")
SCOPED = ("area_staff", "property_custodian")
CAPABILITY = {
    "subjects": {"admin", "center_monitor", "area_staff"},
    "items": {"admin", "center_monitor", "property_custodian"},
}

# Policies: who may use a route.
#   public     anyone, no credentials
#   user       any logged-in user; not about one site
#   site       users who may see the route's site (another site is 404 to site-scoped roles)
#   subjects   site, and the role may see subjects' trails (property custodians may not: 403)
#   items      site, and the role may see the property ledger (area staff may not: 403)
#   admin      admins only (403 for the other roles)
#   gateway    a gateway's credential only (a user's token is 401)
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/language"): "public",
    ("POST", "/api/v1/login/access-token"): "public",
    ("POST", "/api/v1/logout"): "user",
    ("GET", "/api/v1/users/me"): "user",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("GET", "/api/v1/sites"): "user",
    ("POST", "/api/v1/sites"): "admin",
    ("GET", "/api/v1/sites/{site_id}"): "site",
    ("GET", "/api/v1/sites/{site_id}/plan"): "site",
    ("GET", "/api/v1/board"): "user",
    ("GET", "/api/v1/sites/{site_id}/board"): "site",
    ("GET", "/api/v1/sites/{site_id}/subjects/{person}/trail"): "subjects",
    ("GET", "/api/v1/sites/{site_id}/items"): "items",
    ("GET", "/api/v1/sites/{site_id}/items/{item}/trail"): "items",
    ("GET", "/api/v1/sites/{site_id}/gateways"): "admin",
    ("POST", "/api/v1/sites/{site_id}/gateways"): "admin",
    ("POST", "/api/v1/gateways/{gateway_id}/credential"): "admin",
    ("PUT", "/api/v1/gateway/public-key"): "gateway",
    ("PUT", "/api/v1/gateways/{gateway_id}/public-key"): "admin",
    ("POST", "/api/v1/gateways/{gateway_id}/chain-conflict/clear"): "admin",
    ("GET", "/api/v1/gateways/{gateway_id}/audit"): "admin",
    ("GET", "/api/v1/alerts"): "user",
    ("GET", "/api/v1/alerts?site_id={site_id}"): "site",
    ("GET", "/api/v1/alerts/{alert_id}"): "site",
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): "site",
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): "site",
    ("GET", "/api/v1/stats"): "user",
    ("GET", "/api/v1/stats?site_id={site_id}"): "site",
    ("POST", "/api/v1/ingest"): "gateway",
    ("GET", "/api/v1/gateway/state"): "gateway",
    ("PUT", "/api/v1/sites/{site_id}/descriptor"): "gateway",
    ("GET", "/api/v1/live"): "user",
    ("GET", "/api/v1/live?site_id={site_id}"): "site",
    ("POST", "/logout"): "user",
    ("GET", "/"): "user",
    ("GET", "/alerts"): "user",
    ("GET", "/sites/{site_id}"): "site",
    ("GET", "/sites/{site_id}/subjects/{person}"): "subjects",
    ("GET", "/sites/{site_id}/subjects/{person}/report"): "subjects",
    ("GET", "/sites/{site_id}/items"): "items",
    ("GET", "/sites/{site_id}/items/{item}"): "items",
    # supervision reports: every visible site, or one (like GET /api/v1/stats); drill-downs and exports alike
    ("GET", "/supervision/daily"): "user",
    ("GET", "/supervision/daily?site_id={site_id}"): "site",
    ("GET", "/supervision/weekly"): "user",
    ("GET", "/supervision/weekly?site_id={site_id}"): "site",
    ("GET", "/supervision/monthly"): "user",
    ("GET", "/supervision/monthly?site_id={site_id}"): "site",
    ("GET", "/supervision/alerts"): "user",
    ("GET", "/supervision/alerts?site_id={site_id}"): "site",
    ("GET", "/supervision/trails"): "user-subjects",
    ("GET", "/supervision/trails?site_id={site_id}"): "subjects",
    ("GET", "/supervision/{kind}.{fmt_name}"): "user",
    ("GET", "/supervision/{kind}.{fmt_name}?site_id={site_id}"): "site",
}
# Bodies that pass validation, so a refusal can only be the authorization's.
BODIES = {
    ("POST", "/api/v1/users"): lambda s: {
        "username": f"u-{uuid.uuid4().hex[:8]}",
        "role": "center_monitor",
        "password": "long enough pw",
    },
    ("PATCH", "/api/v1/users/{user_id}"): lambda s: {"full_name": "renamed"},
    ("POST", "/api/v1/sites"): lambda s: {"id": f"site-{uuid.uuid4().hex[:8]}", "name": "made by the matrix"},
    ("POST", "/api/v1/sites/{site_id}/gateways"): lambda s: {"id": f"gw-{uuid.uuid4().hex[:8]}"},
    ("PUT", "/api/v1/gateways/{gateway_id}/public-key"): lambda s: {"public_key_pem": s.pem, "comment": "matrix"},
    ("POST", "/api/v1/gateways/{gateway_id}/chain-conflict/clear"): lambda s: {"comment": "matrix"},
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): lambda s: {"comment": "seen"},
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): lambda s: {"comment": "handled"},
}
STATS_QUERY = f"from={T0 - 86_400_000}&to={T0 + 86_400_000}"


@dataclass
class Site:
    world: object
    site_id: str
    person: str
    item: str
    alert_id: int
    spare_gateway: str  # a gateway whose credential and key the matrix may change
    user_id: int
    pem: str


def _site(client: TestClient, admin_token: str) -> Site:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    world = make_world(client, admin_token)
    j = world.journal
    assert (
        world.ingest(
            j.event(
                T0, "checkin", person="sus-1", role="suspect", sex="M", tag="t1", basis="criminal_summons", case="c-1"
            ),
            j.custody(T0, "sus-1", "in"),
            j.event(T0, "intake", item="item-1", case="c-1", bank="bank-a", slot=1),
            j.alert(T0 + 1, "tag_lost", "raised", "sus-1", zone="entry"),
        ).status_code
        == 200
    )
    admin = {"Authorization": f"Bearer {admin_token}"}
    alert_id = client.get(f"/api/v1/alerts?site_id={world.site_id}", headers=admin).json()["alerts"][0]["id"]
    spare = f"gw-spare-{uuid.uuid4().hex[:6]}"
    assert client.post(f"/api/v1/sites/{world.site_id}/gateways", json={"id": spare}, headers=admin).status_code == 201
    user = client.post(
        "/api/v1/users",
        json={"username": f"target-{uuid.uuid4().hex[:6]}", "role": "center_monitor", "password": "long enough pw"},
        headers=admin,
    ).json()
    pem = (
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )
    return Site(world, world.site_id, "sus-1", "item-1", alert_id, spare, user["id"], pem)


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, Mount):
            continue  # /static: files, no data
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, context.path))
    return found


def _expected(policy: str, role: str, own: bool) -> str:
    if policy == "public":
        return "allowed"
    if policy == "gateway":
        return "401"
    if policy == "user":
        return "allowed"
    if policy == "user-subjects":  # every visible site, but only for roles that may see people
        return "allowed" if role in CAPABILITY["subjects"] else "403"
    if policy == "admin":
        return "allowed" if role == "admin" else "403"
    if not own and role in SCOPED:
        return "404"
    if policy in CAPABILITY and role not in CAPABILITY[policy]:
        return "403"
    return "allowed"


def _url(template: str, site: Site) -> str:
    url = (
        template.replace("{site_id}", site.site_id)
        .replace("{person}", quote(site.person))
        .replace("{item}", quote(site.item))
        .replace("{alert_id}", str(site.alert_id))
        .replace("{gateway_id}", site.spare_gateway)
        .replace("{user_id}", str(site.user_id))
        .replace("{kind}", "monthly")
        .replace("{fmt_name}", "xlsx")
    )
    if url.startswith(("/api/v1/stats", "/supervision/alerts", "/supervision/trails")):
        url += ("&" if "?" in url else "?") + STATS_QUERY
    return url


def _live(client: TestClient, app, url: str, token: str) -> int:
    """The live stream never ends by itself: it ends when its token is revoked, so revoke it once
    the stream has sent its first board (then the status is known)."""
    result: dict[str, int] = {}

    def run() -> None:
        result["status"] = client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    thread = threading.Thread(target=run)
    thread.start()
    streaming = False
    while thread.is_alive() and not streaming:
        streaming = bool(app.state.live_snapshots)
        thread.join(0.05)
    if thread.is_alive():
        client.post("/api/v1/logout", headers={"Authorization": f"Bearer {token}"})
    thread.join(30)
    assert not thread.is_alive(), f"{url}: the stream did not end after its token was revoked"
    app.state.live_snapshots.clear()
    return result["status"]


@pytest.fixture(scope="module")
def matrix_client(settings):
    # short keepalives: a revoked token ends a live stream at the next one
    app = create_app(
        settings.model_copy(
            update={"live_keepalive_s": 0.2, "login_free_failures_address": 100_000, "login_parallel_per_address": 1000}
        )
    )
    with TestClient(app) as client:
        yield app, client


def test_every_route_has_a_line_in_the_matrix(matrix_client):
    app, _ = matrix_client
    listed = {(method, path.split("?")[0]) for method, path in MATRIX}
    missing = _routes(app) - listed
    assert not missing, f"routes without an authorization line in MATRIX: {sorted(missing)}"
    stale = listed - _routes(app)
    assert not stale, f"MATRIX names routes that do not exist: {sorted(stale)}"


@pytest.fixture(scope="module")
def matrix_sites(matrix_client, admin_token) -> tuple[Site, Site]:
    _, client = matrix_client
    return _site(client, admin_token), _site(client, admin_token)


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(matrix_client, matrix_sites, admin_token, role):
    app, client = matrix_client
    own, other = matrix_sites
    password = "correct horse battery"
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    created = client.post(
        "/api/v1/users",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={
            "username": username,
            "role": role,
            "password": password,
            "site_id": own.site_id if role in SCOPED else None,
        },
    )
    assert created.status_code == 201, created.text
    wrong: list[str] = []
    token = login(client, username, password)
    for (method, template), policy in MATRIX.items():
        for site, is_own in ((own, True), (other, False)):
            if (
                "{site_id}" not in template
                and "{alert_id}" not in template
                and "{gateway_id}" not in template
                and "{user_id}" not in template
                and not is_own
            ):
                continue  # not about a site: once is enough
            if template.startswith("/api/v1/live") or "logout" in template:
                token = login(client, username, password)  # these end the token: a fresh one, and again after
            url = _url(template, site)
            body = BODIES.get((method, template))
            if template.startswith("/api/v1/live"):
                status = _live(client, app, url, token)
            elif method in ("GET",):
                status = client.get(
                    url, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False
                ).status_code
            elif template in ("/login", "/language", "/logout") or template == "/api/v1/login/access-token":
                data = {"username": username, "password": password, "next": "/", "locale": "en"}
                status = client.request(
                    method,
                    url,
                    data=data,
                    headers={"Authorization": f"Bearer {token}"},
                    cookies={"custody_token": token},
                    follow_redirects=False,
                ).status_code
            else:
                status = client.request(
                    method, url, json=body(site) if body else None, headers={"Authorization": f"Bearer {token}"}
                ).status_code
            if template.startswith("/api/v1/live") or "logout" in template:
                token = login(client, username, password)
            expected = _expected(policy, role, is_own)
            ok = status not in (401, 403, 404) and status < 500 if expected == "allowed" else str(status) == expected
            if not ok:
                wrong.append(
                    f"{method} {url} as {role} ({'own' if is_own else 'other'} site, policy {policy}): "
                    f"{status}, expected {expected}"
                )
    assert not wrong, "\n".join(wrong)
