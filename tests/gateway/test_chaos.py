"""Chaos (issue 11, item 8): a real `custody gateway run` and a real `custody server run` with a
real proxy between them that answers 301s, then HTML 200s; the gateway SIGKILLed and restarted;
the center stopped and started; all the while the desk API acknowledges check-ins. In the end
every acknowledged event is at the center exactly once, in order, with the gateway's hashes and
bodies, the center's chain check and signature check passed, and nothing else differs from the
gateway's journal."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flaky_proxy import FlakyProxy
from gw_helpers import STAFF_PASSWORD, add_staff
from gw_processes import CentralServer, GatewayProcess
from gw_sites import NO_DEVICES_SITE, write_site

from gateway.journal import Journal

pytestmark = [pytest.mark.durability, pytest.mark.timeout(180)]


class DeskLoad(threading.Thread):
    """A desk clerk checking people in, one after another, through whatever happens to the gateway.
    Only 201 answers count as acknowledged; after a connection error it goes on with the next person
    (the unanswered one may or may not be journaled), after a 401 (restart) it logs in again."""

    def __init__(self, desk_url: str) -> None:
        super().__init__(name="desk-load", daemon=True)
        self.desk_url = desk_url
        self.acked: list[dict[str, Any]] = []
        self.unanswered = 0
        self.refused: list[tuple[int, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        client = httpx.Client(base_url=self.desk_url, timeout=10)
        token: str | None = None
        person = 0
        while not self.halt.is_set():
            try:
                if token is None:
                    login = client.post("/desk/v1/login", json={"username": "desk1", "password": STAFF_PASSWORD})
                    login.raise_for_status()
                    token = login.json()["token"]
                person += 1
                answer = client.post(
                    "/desk/v1/checkins",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "person": f"p{person}",
                        "role": "suspect",
                        "sex": "M" if person % 2 else "F",
                        "tag": f"T{person}",
                        "basis": "admin_summons",
                        "case": f"c{person % 5}",
                    },
                )
            except httpx.HTTPError:
                self.unanswered += 1
                token = None
                self.halt.wait(0.2)  # the gateway is down: try again shortly
                continue
            if answer.status_code == 201:
                self.acked.append(answer.json())
            elif answer.status_code == 401:
                token = None
            else:
                self.refused.append((answer.status_code, answer.text[:300]))
            self.halt.wait(0.02)  # a brisk clerk, not a flood
        client.close()


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # watching other processes' progress: a short, bounded poll


def test_chaos_every_acknowledged_event_reaches_the_center_once(tmp_path):
    (tmp_path / "center").mkdir()
    center = CentralServer(tmp_path / "center", "gw-test", "gw-test-gw").start()
    proxy = FlakyProxy(center.url, mode="redirect").start()
    data = tmp_path / "data"
    add_staff(data)
    gateway = GatewayProcess(
        write_site(tmp_path, NO_DEVICES_SITE),
        data,
        server=center,
        server_url=proxy.url,
        extra=["--health-interval", "3600", "--uplink-backoff-max", "0.5", "--sign-every", "25"],
    )
    load = DeskLoad(gateway.desk_url)
    try:
        gateway.start()
        load.start()
        # 1. A captive portal answers every uplink call with a 301; the desk carries on.
        proxy.wait_answered("redirect", 3)
        _until(lambda: len(load.acked) >= 10, 30, "check-ins during the redirects")
        # 2. The portal's HTML page with 200.
        proxy.mode = "html"
        proxy.wait_answered("html", 3)
        _until(lambda: len(load.acked) >= 20, 30, "check-ins during the HTML answers")
        # 3. The gateway is killed (no shutdown, no final signature) and started again.
        gateway.kill9()
        acked_before_restart = len(load.acked)
        gateway.start()
        _until(lambda: len(load.acked) >= acked_before_restart + 10, 30, "check-ins after the restart")
        # 4. The path to the center is clear: the backlog drains.
        proxy.mode = "pass"
        _until(lambda: center.last_seq("gw-test-gw") >= load.acked[-1]["seq"], 30, "the backlog delivered")
        # 5. The center goes down for a while, and comes back.
        center.stop()
        acked_before_outage = len(load.acked)
        _until(lambda: len(load.acked) >= acked_before_outage + 10, 30, "check-ins while the center is down")
        center.start()
        _until(lambda: len(load.acked) >= acked_before_outage + 20, 30, "check-ins after the center is back")
    finally:
        load.halt.set()
        load.join(timeout=15)
    try:
        health = httpx.post(gateway.desk_url + "/desk/v1/login", json={"username": "desk1", "password": STAFF_PASSWORD})
        headers = {"Authorization": f"Bearer {health.json()['token']}"}
        journal_end = httpx.get(gateway.desk_url + "/desk/v1/health", headers=headers).json()["gateway"]["journal"][
            "last_seq"
        ]
        _until(lambda: center.last_seq("gw-test-gw") == journal_end, 30, "everything delivered")

        def uplink_health() -> dict:
            return httpx.get(gateway.desk_url + "/desk/v1/health", headers=headers).json()["gateway"]["uplink"]

        # Everything can be at the center while the uplink still shows the error of an idle poll
        # that met the center's restart (it clears at its next successful attempt, after backoff).
        _until(lambda: uplink_health()["last_error"] is None, 30, "the uplink's next successful attempt")
        uplink = uplink_health()
        assert uplink["key_status"] == "registered" and uplink["last_error"] is None, uplink
        assert gateway.stop() == 0
    finally:
        if gateway.process is not None and gateway.process.poll() is None:
            gateway.process.kill()
        proxy.stop()
        center.stop()

    assert not load.refused, load.refused[:5]
    assert proxy.answered["redirect"] >= 3 and proxy.answered["html"] >= 3
    with sqlite3.connect(center.db_path) as db:
        stored = db.execute(
            "SELECT seq, hash, body FROM journal_entries WHERE gateway_id = 'gw-test-gw' ORDER BY seq"
        ).fetchall()
        gateway_row = db.execute(
            "SELECT chain_conflict_seq, signatures_verified, last_seq FROM gateways WHERE id = 'gw-test-gw'"
        ).fetchone()
    journal = Journal(data)
    local = [(e.seq, e.hash, e.body) for e in journal.read_after(0, 1_000_000)]
    journal.close()
    # Exactly once and in order: the center's entries are the journal's first N, byte for byte.
    assert [seq for seq, _, _ in stored] == list(range(1, journal_end + 1))
    assert stored == local[:journal_end]
    # After the clean stop the head is signed: by the shutdown signature (journaled after the uplink
    # stopped, so not at the center yet), or by a periodic one that happened to be the last entry.
    assert all('"signed_seq"' in body for _, _, body in local[journal_end:]) and '"signed_seq"' in local[-1][2]
    # Every acknowledged check-in is there, at the seq the desk was told, as the desk sent it.
    by_seq = {seq: json.loads(body) for seq, _, body in stored}
    for acked in load.acked:
        assert by_seq[acked["seq"]] == acked["event"]
    people = [by_seq[a["seq"]]["person"] for a in load.acked]
    assert len(set(people)) == len(people) >= 50
    # The center checked the chain and verified the gateway's signatures on the way.
    conflict, verified, center_last = gateway_row
    assert conflict is None and verified >= 1 and center_last == journal_end
