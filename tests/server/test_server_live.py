"""Live push across server processes: ingest through one, the board arrives through another."""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from server_process import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

T0 = 1_763_700_000_000


@pytest.fixture(scope="module")
def two_servers(database_url: str, client, tmp_path_factory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # `client` has migrated the database already; both processes share it and nothing else.
    logs = tmp_path_factory.mktemp("server-logs")
    servers = (ServerProcess(database_url, logs / "a.log"), ServerProcess(database_url, logs / "b.log"))
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def _read_events(url: str, headers: dict[str, str], out: queue.Queue, stop: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5.0, read=60.0)) as response:
            out.put(("status", response.status_code))
            event = None
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    out.put((event, json.loads(line[6:]), time.monotonic()))
    except httpx.TransportError as exc:
        # The servers stop at the end of the module; a test still waiting sees this in the queue.
        out.put(("closed", str(exc)))


def _next_event(events: queue.Queue, predicate, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no matching live event arrived"
        item = events.get(timeout=remaining)
        assert item[0] != "closed", f"live stream closed: {item[1]}"
        if item[0] != "status" and predicate(item[1]):
            return item


def test_board_is_pushed_through_another_process(two_servers, world):
    server_a, server_b = two_servers
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_events,
        args=(f"{server_b.url}/api/v1/live?site_id={world.site_id}", world.auth("center_monitor"), events, stop),
        daemon=True,
    )
    reader.start()
    assert events.get(timeout=20) == ("status", 200)
    first = _next_event(events, lambda board: True)
    assert first[0] == "board" and not any(z["subjects"] for z in first[1]["zones"])

    j = world.journal
    batch = j.batch(j.custody(T0, "sus-live", "in"), j.location(T0, "sus-live", "check"))
    sent = time.monotonic()
    reply = httpx.post(f"{server_a.url}/api/v1/ingest", json=batch, headers=world.gw)
    assert reply.status_code == 200, reply.text

    def shows_subject(board):
        return any(s["person"] == "sus-live" for z in board["zones"] for s in z["subjects"])

    _, board, received = _next_event(events, shows_subject)
    print(f"live push across processes: {1000 * (received - sent):.0f} ms after the ingest request was sent")
    assert next(z for z in board["zones"] if z["id"] == "check")["subjects"][0]["person"] == "sus-live"

    # an acknowledgement through process B reaches watchers too (alerts leave the open list)
    httpx.post(f"{server_a.url}/api/v1/ingest", json=j.batch(j.alert(T0 + 1, "unaccompanied", "raised", "sus-live", zone="check")), headers=world.gw)
    _, board, _ = _next_event(events, lambda b: bool(b["alerts"]))
    alert_id = board["alerts"][0]["id"]
    assert httpx.post(f"{server_b.url}/api/v1/alerts/{alert_id}/acknowledge", json={"comment": ""}, headers=world.auth("area_staff")).status_code == 200
    _next_event(events, lambda b: b["alerts"] and b["alerts"][0]["status"] == "acknowledged")
    stop.set()


def test_overview_stream_sees_other_sites_change(two_servers, world):
    server_a, server_b = two_servers
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_read_events, args=(f"{server_b.url}/api/v1/live", world.auth("center_monitor"), events, stop), daemon=True).start()
    assert events.get(timeout=20) == ("status", 200)
    _next_event(events, lambda o: True)
    j = world.journal
    httpx.post(f"{server_a.url}/api/v1/ingest", json=j.batch(j.custody(T0, "sus-o", "in")), headers=world.gw)

    def counted(overview):
        return any(s["site_id"] == world.site_id and s["subjects_in_custody"] == 1 for s in overview["sites"])

    assert _next_event(events, counted)[0] == "overview"
    stop.set()


def test_concurrent_replays_through_two_processes_store_once(two_servers, world, settings):
    from sqlalchemy import func, select

    from server.db import make_engine
    from server.models import JournalEntry

    server_a, server_b = two_servers
    j = world.journal
    batch = j.batch(*[j.event(T0 + i, "tag_seen", reader="rdr", tag=f"t{i}") for i in range(200)])
    results: list[dict] = []

    def post(url: str) -> None:
        results.append(httpx.post(f"{url}/api/v1/ingest", json=batch, headers=world.gw, timeout=30).json())

    threads = [threading.Thread(target=post, args=(s.url,)) for s in (server_a, server_b, server_a, server_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["stored"] for r in results) == [0, 0, 0, 200]
    assert all(r["last_seq"] == 200 for r in results)
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(JournalEntry).where(JournalEntry.gateway_id == world.gateway_id)).scalar_one()
    engine.dispose()
    assert stored == 200


def test_stream_ends_when_the_token_is_revoked(two_servers, world):
    from server_world import login

    server_a, server_b = two_servers
    world.auth("area_staff")
    token = login(world.client, f"area_staff-{world.site_id[5:]}", "correct horse battery")
    headers = {"Authorization": f"Bearer {token}"}
    events: queue.Queue = queue.Queue()
    threading.Thread(target=_read_events, args=(f"{server_b.url}/api/v1/live?site_id={world.site_id}", headers, events, threading.Event()), daemon=True).start()
    assert events.get(timeout=20) == ("status", 200)
    _next_event(events, lambda board: True)
    assert httpx.post(f"{server_a.url}/api/v1/logout", headers=headers).status_code == 204
    j = world.journal
    httpx.post(f"{server_a.url}/api/v1/ingest", json=j.batch(j.custody(T0, "sus-x", "in")), headers=world.gw)
    kind, _, _ = _next_event(events, lambda data: True)
    assert kind == "expired"


def test_several_screens_on_one_site_all_follow_changes(two_servers, world):
    server_a, server_b = two_servers
    screens = []
    for _ in range(3):
        events: queue.Queue = queue.Queue()
        threading.Thread(target=_read_events, args=(f"{server_b.url}/api/v1/live?site_id={world.site_id}", world.auth("center_monitor"), events, threading.Event()), daemon=True).start()
        assert events.get(timeout=20) == ("status", 200)
        _next_event(events, lambda board: True)
        screens.append(events)
    j = world.journal
    for person in ("sus-s1", "sus-s2"):
        httpx.post(f"{server_a.url}/api/v1/ingest", json=j.batch(j.custody(T0, person, "in"), j.location(T0, person, "entry")), headers=world.gw)
        for events in screens:
            _next_event(events, lambda b, p=person: any(s["person"] == p for z in b["zones"] for s in z["subjects"]))
