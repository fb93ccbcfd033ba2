"""Desk accounts (issue 11, item 6) against a real gateway process: staff record only as themselves
(`by` naming someone else is 403 naming the field, nothing journaled), log-out ends the token, an
account removed or disabled with the CLI loses access on its next request, log-ins are throttled
per account and per address (429 + Retry-After), bodies over 1 MiB get 413, and the desk API
serves HTTPS with --desk-cert/--desk-key."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gw_helpers import STAFF_PASSWORD, Desk, add_staff
from gw_processes import GatewayProcess
from gw_sites import NO_DEVICES_SITE, write_site

from drivers.sim.certs import TestPki

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
INTAKE = {"item": "EV-1", "case": "c1", "bank": "bank-a", "slot": 1}
EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("accounts")
    data = tmp / "data"
    add_staff(data)
    gw = GatewayProcess(write_site(tmp, NO_DEVICES_SITE), data, extra=["--health-interval", "3600"]).start()
    yield gw
    assert gw.stop() == 0


def _staff_cli(data: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "gateway.commands.cli", "gateway", *args, "--data", str(data)],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _last_seq(desk: Desk) -> int:
    return desk.health()["gateway"]["journal"]["last_seq"]


def test_by_must_be_the_logged_in_user(gateway):
    keeper = Desk(gateway.desk_url, "keeper1")
    before = _last_seq(keeper)
    refused = keeper.client.post("/desk/v1/intakes", json={**INTAKE, "by": "desk1"}, headers=EN)
    assert refused.status_code == 403
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "by"] and detail["type"] == "not_the_logged_in_user"
    assert "keeper1" in detail["msg"]
    order = {"id": "wo-1", "item": "EV-1", "action": "withdraw", "bank": "bank-a", "slot": 1,
             "valid_from": 0, "valid_until": 1, "requested_by": "inv-1", "approved_by": "boss-1"}
    assert keeper.post("/desk/v1/workorders", {**order, "by": "desk1"}).json()["detail"][0]["loc"] == ["body", "by"]
    assert _last_seq(keeper) == before  # nothing journaled
    # The requester and the approver are other people on purpose; the custodian records the order.
    assert keeper.ok("/desk/v1/workorders", order)["event"]["by"] == "keeper1"
    recorded = keeper.ok("/desk/v1/intakes", {**INTAKE, "by": "keeper1"})
    assert recorded["event"]["by"] == "keeper1"
    implicit = keeper.ok("/desk/v1/intakes", {**INTAKE, "item": "EV-2", "slot": 2})
    assert implicit["event"]["by"] == "keeper1"  # no `by`: the logged-in user


def test_logout_ends_the_token(gateway):
    desk = Desk(gateway.desk_url)
    other = Desk(gateway.desk_url)  # the same user on another computer
    assert desk.client.post("/desk/v1/logout").status_code == 204
    assert desk.client.get("/desk/v1/zones").status_code == 401
    assert desk.client.post("/desk/v1/logout").status_code == 401
    assert other.client.get("/desk/v1/zones").status_code == 200


def test_removed_or_disabled_account_loses_access_at_once(gateway):
    _staff_cli(gateway.data, "add-staff", "--username", "temp1", "--role", "desk", "--password", STAFF_PASSWORD)
    _staff_cli(gateway.data, "add-staff", "--username", "temp2", "--role", "desk", "--password", STAFF_PASSWORD)
    first, second = Desk(gateway.desk_url, "temp1"), Desk(gateway.desk_url, "temp2")
    assert first.client.get("/desk/v1/zones").status_code == 200
    _staff_cli(gateway.data, "remove-staff", "--username", "temp1")
    gone = first.client.get("/desk/v1/zones", headers=EN)
    assert gone.status_code == 401 and "removed or disabled" in gone.json()["detail"]

    _staff_cli(gateway.data, "disable-staff", "--username", "temp2")
    assert second.client.post("/desk/v1/checkouts", json={"person": "nobody"}).status_code == 401
    login = httpx.post(gateway.desk_url + "/desk/v1/login", json={"username": "temp2", "password": STAFF_PASSWORD})
    assert login.status_code == 401
    _staff_cli(gateway.data, "disable-staff", "--username", "temp2", "--enable")
    assert second.client.get("/desk/v1/zones").status_code == 401  # the old token stays ended
    assert Desk(gateway.desk_url, "temp2").client.get("/desk/v1/zones").status_code == 200


def test_request_bodies_over_one_mib_are_refused(gateway):
    desk = Desk(gateway.desk_url)
    big = {**INTAKE, "case": "x" * (1024 * 1024)}
    declared = desk.client.post("/desk/v1/intakes", json=big, headers=EN)
    assert declared.status_code == 413 and "1048576 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"item": "EV-9", "case": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}'

    streamed = desk.client.post("/desk/v1/intakes", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    login = httpx.post(gateway.desk_url + "/desk/v1/login", content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                       headers={"Content-Type": "application/json"})
    assert login.status_code == 413


def test_login_throttle_per_account_and_address(tmp_path):
    data = tmp_path / "data"
    add_staff(data)
    gw = GatewayProcess(write_site(tmp_path, NO_DEVICES_SITE), data, extra=["--health-interval", "3600"]).start()
    try:
        url = gw.desk_url + "/desk/v1/login"
        for _ in range(6):  # five free failures, the sixth starts a block
            assert httpx.post(url, json={"username": "desk1", "password": "wrong-password"}).status_code == 401
        blocked = httpx.post(url, json={"username": "desk1", "password": STAFF_PASSWORD}, headers=EN)
        assert blocked.status_code == 429  # even the right password waits: no probing during the block
        assert int(blocked.headers["Retry-After"]) >= 1 and "try again in" in blocked.json()["detail"]
        # Another account is not blocked by desk1's failures...
        assert httpx.post(url, json={"username": "keeper1", "password": STAFF_PASSWORD}).status_code == 200
        # ...but many failures from one address block it for every account.
        statuses = [httpx.post(url, json={"username": f"guess{i}", "password": "wrong-password"}).status_code
                    for i in range(16)]
        assert statuses[:15] == [401] * 15 and statuses[15] == 429  # 20 free failures per address (6 + 14 + 1)
        refused = httpx.post(url, json={"username": "keeper1", "password": STAFF_PASSWORD})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    finally:
        assert gw.stop() == 0


def test_desk_api_over_https(tmp_path):
    pki = TestPki.create(tmp_path / "pki")
    data = tmp_path / "data"
    add_staff(data)
    gw = GatewayProcess(write_site(tmp_path, NO_DEVICES_SITE), data, extra=["--health-interval", "3600"],
                        desk_tls=(pki.server_cert, pki.server_key, pki.ca_file)).start()
    try:
        assert gw.desk_url.startswith("https://")
        client = httpx.Client(base_url=gw.desk_url, verify=gw.verify)
        token = client.post("/desk/v1/login", json={"username": "desk1", "password": STAFF_PASSWORD}).json()["token"]
        zones = client.get("/desk/v1/zones", headers={"Authorization": f"Bearer {token}"})
        assert zones.status_code == 200 and "entry" in zones.json()
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on the TLS port
            httpx.get(gw.desk_url.replace("https://", "http://") + "/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError):  # and the certificate must chain to a trusted CA
            httpx.get(gw.desk_url + "/healthz", timeout=5)
        client.close()
    finally:
        assert gw.stop() == 0
