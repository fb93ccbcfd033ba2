"""Limits and throttles: malformed batches are 4xx naming the field (never 500), bodies over the
limit are refused before they are read, log-ins back off exponentially, argon2 work is bounded."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from core_ext.chain import GENESIS_HASH, chain_hash
from core_ext.throttle import LoginThrottle, Throttle
from server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

T0 = 1_763_700_000_000


def _raw_batch(world, body: bytes, *, seq: int = 1, ts: bytes = b"1763700000000", kind: bytes = b"event") -> bytes:
    digest = chain_hash(GENESIS_HASH, body).encode()
    return b'{"gateway_id":"%s","site_id":"%s","entries":[{"seq":%d,"ts":%s,"kind":"%s","hash":"%s","body":%s}]}' % (
        world.gateway_id.encode(),
        world.site_id.encode(),
        seq,
        ts,
        kind,
        digest,
        body,
    )


def _post(world, raw: bytes):
    return world.client.post("/api/v1/ingest", content=raw, headers={**world.gw, "content-type": "application/json"})


MALFORMED = [
    # (what, body of entry 0, field named)
    (
        "invalid UTF-8 in a field",
        b'{"ts":1763700000000,"type":"tag_seen","reader":"r","tag":"\xff\xfe"}',
        "entries[0].body.tag",
    ),
    (
        "invalid UTF-8 in an unknown field",
        b'{"ts":1763700000000,"type":"tag_seen","reader":"r","tag":"t","x":"\xc3\x28"}',
        "entries[0].body.x",
    ),
    (
        "nesting 200 000 deep",
        b'{"ts":1763700000000,"type":"tag_seen","reader":"r","tag":"t","x":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        "entries[0].body.x",
    ),
    (
        "integer past 2^63 in a slot",
        b'{"ts":1763700000000,"type":"intake","item":"i","case":"c","bank":"b","slot":9223372036854775808}',
        "entries[0].body.slot",
    ),
    (
        "integer past 2^64 in ts",
        b'{"ts":99999999999999999999999,"type":"camera","camera":"c","state":"recording"}',
        "entries[0].body.ts",
    ),
    (
        "timestamp after 2100",
        b'{"ts":4102444800001,"type":"camera","camera":"c","state":"recording"}',
        "entries[0].body.ts",
    ),
    ("negative timestamp", b'{"ts":-1,"type":"camera","camera":"c","state":"recording"}', "entries[0].body.ts"),
    (
        "zone longer than its column",
        b'{"ts":1763700000000,"person":"p","zone":"' + b"z" * 65 + b'"}',
        "entries[0].body.zone",
    ),
]


@pytest.mark.parametrize(("what", "body", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_entries_are_4xx_naming_the_field(world, settings, what, body, field):
    kind = b"location" if b'"person"' in body and b'"type"' not in body else b"event"
    reply = _post(world, _raw_batch(world, body, kind=kind))
    assert 400 <= reply.status_code < 500, f"{what}: {reply.status_code} {reply.text[:200]}"
    assert reply.json()["detail"][0]["field"].startswith(field), reply.text[:300]


def test_malformed_envelopes_are_4xx_naming_the_field(world):
    body = b'{"ts":1763700000000,"type":"camera","camera":"c","state":"recording"}'
    big_seq = _raw_batch(world, body, seq=2**63)
    assert _post(world, big_seq).json()["detail"][0]["field"] == "entries[0].seq"
    bad_utf8 = _raw_batch(world, body).replace(world.site_id.encode(), b"\xff\xfe")
    reply = _post(world, bad_utf8)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "site_id"
    deep = b'{"gateway_id":"g","site_id":"s","entries":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    reply = _post(world, deep)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"].startswith("entries")


def test_alert_detail_depth_and_size_are_capped(world):
    j = world.journal
    deep: object = "x"
    for _ in range(9):
        deep = {"a": deep}
    reply = world.ingest(j.alert(T0, "tag_lost", "raised", "p", detail=deep))
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "entries[0].body.detail"
    j2 = type(j)(world.gateway_id, world.site_id)
    reply = world.client.post(
        "/api/v1/ingest",
        json=j2.batch(j2.alert(T0, "tag_lost", "raised", "p", detail={"x": "y" * 20_000})),
        headers=world.gw,
    )
    assert reply.status_code == 422 and "bytes" in reply.json()["detail"][0]["msg"]
    j3 = type(j)(world.gateway_id, world.site_id)
    ok = world.client.post(
        "/api/v1/ingest",
        json=j3.batch(j3.alert(T0, "tag_lost", "raised", "p", detail={"a": {"b": [1, 2]}})),
        headers=world.gw,
    )
    assert ok.status_code == 200, ok.text


def test_bodies_over_the_limit_are_refused_before_they_are_read(settings, world):
    with TestClient(create_app(settings.model_copy(update={"request_max_bytes": 4096}))) as small:
        admin = world.auth("admin")
        big = {"id": "s-big", "name": "x" * 5000}
        reply = small.post("/api/v1/sites", json=big, headers=admin)
        assert reply.status_code == 413 and "limit" in reply.json()["detail"]
        assert "content-security-policy" in reply.headers
        # without Content-Length (chunked): counted as it arrives
        chunks = (b'{"id": "s-big", "name": "' + b"x" * 1000 for _ in range(8))
        reply = small.post("/api/v1/sites", content=chunks, headers={**admin, "content-type": "application/json"})
        assert reply.status_code == 413
        login = small.post("/login", data={"username": "u", "password": "p" * 5000, "next": "/"})
        assert login.status_code == 413
        # the ingest has its own (larger) limit
        j = world.journal
        batch = j.batch(*[j.event(T0 + i, "tag_seen", reader="rdr", tag=f"t{i:04d}") for i in range(60)])
        assert len(json.dumps(batch)) > 4096
        reply = small.post("/api/v1/ingest", json=batch, headers=world.gw)
        assert reply.status_code == 200, reply.text


def test_a_site_time_zone_must_be_known(client, world):
    admin = world.auth("admin")
    reply = client.post("/api/v1/sites", json={"id": "tz-bad", "name": "x", "timezone": "Mars/Olympus"}, headers=admin)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "timezone"
    from uplink_builder import demo_descriptor

    descriptor = {**demo_descriptor(world.site_id), "timezone": "../../etc/passwd"}
    reply = client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=descriptor, headers=world.gw)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "timezone"


# --- log-in throttling ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_backs_off_exponentially_and_a_success_clears_the_account():
    clock = FakeClock()
    throttle = Throttle(free_failures=2, base_s=1, max_s=8, clock=clock)
    assert [throttle.failure("k") for _ in range(7)] == [0, 0, 1, 2, 4, 8, 8]
    assert throttle.retry_after("k") == 8
    clock.now += 8
    assert throttle.retry_after("k") == 0
    throttle.success("k")
    assert throttle.failure("k") == 0
    bounded = Throttle(max_keys=3, clock=clock)
    for key in "abcd":
        bounded.failure(key)
    assert len(bounded._states) == 3


def test_login_throttle_one_attempt_at_a_time_per_account():
    clock = FakeClock()
    throttle = LoginThrottle(Throttle(1, 1, 60, clock=clock), Throttle(5, 1, 60, clock=clock), address_parallel=2)
    assert throttle.begin("Alice", "1.2.3.4") == 0
    assert throttle.begin("alice ", "5.6.7.8") == 1  # same account (normalised) while the first is checked
    assert throttle.begin("bob", "1.2.3.4") == 0
    assert throttle.begin("carol", "1.2.3.4") == 1  # two in flight from this address
    throttle.finish("Alice", "1.2.3.4", ok=False)
    throttle.finish("bob", "1.2.3.4", ok=None)
    assert throttle.begin("alice", "9.9.9.9") == 0
    throttle.finish("alice", "9.9.9.9", ok=False)  # second failure: beyond the one free
    assert throttle.begin("alice", "9.9.9.9") == 1


@pytest.fixture
def throttled(settings):
    app = create_app(
        settings.model_copy(
            update={"login_free_failures_account": 2, "login_free_failures_address": 4, "login_backoff_base_s": 30.0}
        )
    )
    with TestClient(app) as test_client:
        yield test_client


def test_api_and_page_log_ins_are_throttled_per_account_with_retry_after(throttled, world):
    world.auth("center_monitor")
    username = f"center_monitor-{world.site_id[5:]}"
    token_url = "/api/v1/login/access-token"
    answers = [
        throttled.post(token_url, data={"username": username, "password": "wrong"}).status_code for _ in range(3)
    ]
    assert answers == [400, 400, 400]  # two free failures, the third starts a 30 s block
    blocked = throttled.post(token_url, data={"username": username, "password": "correct horse battery"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 29
    page = throttled.post("/login", data={"username": username, "password": "correct horse battery", "next": "/"})
    assert page.status_code == 429 and page.headers["retry-after"] and "content-security-policy" in page.headers
    # another account is not blocked by this one's failures
    assert throttled.post(token_url, data={"username": "admin-nobody", "password": "x"}).status_code == 400


def test_log_ins_are_throttled_per_address_across_accounts(throttled):
    answers = [
        throttled.post("/api/v1/login/access-token", data={"username": f"spray-{i}", "password": "x"}).status_code
        for i in range(6)
    ]
    assert answers[:4] == [400, 400, 400, 400] and answers[5] == 429


def test_password_checks_wait_their_turn_and_overflow_is_503(settings, world):
    """40 parallel bogus log-ins: at most password_workers argon2 checks at once, the rest wait
    (not holding request threads) or, past the queue, are answered 503 at once."""
    world.auth("area_staff")
    app = create_app(
        settings.model_copy(
            update={
                "password_workers": 1,
                "password_queue_max": 5,
                "login_free_failures_address": 1000,
                "login_free_failures_account": 1000,
                "login_parallel_per_address": 1000,
            }
        )
    )
    running, peak, lock = [0], [0], threading.Lock()
    with TestClient(app) as test_client:
        work = app.state.password_work
        original = work._pool.submit

        def counting_submit(fn, *args):
            def counted():
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                try:
                    return fn(*args)
                finally:
                    with lock:
                        running[0] -= 1

            return original(counted)

        work._pool.submit = counting_submit
        statuses: list[int] = []

        def attempt(i: int) -> None:
            reply = test_client.post("/api/v1/login/access-token", data={"username": f"nobody-{i}", "password": "x"})
            statuses.append(reply.status_code)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
        for thread in threads:
            thread.start()
        board = test_client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth("area_staff"))
        for thread in threads:
            thread.join()
    assert board.status_code == 200
    assert peak[0] == 1
    assert set(statuses) <= {400, 503} and statuses.count(400) >= 1 and 503 in statuses


def test_nul_characters_are_refused_where_postgresql_could_not_store_them(world, client):
    """NUL cannot be stored in PostgreSQL text: refused as bad input (the fuzzer found the 500)."""
    body = b'{"ts":1763700000000,"person":"p\\u0000","zone":"entry"}'
    reply = _post(world, _raw_batch(world, body, kind=b"location"))
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "entries[0].body.person"
    admin = world.auth("admin")
    assert client.get("/api/v1/alerts?subject=%00", headers=admin).status_code == 400
    assert client.get("/sites/x%00y", headers=admin).status_code == 400
    reply = client.post(
        "/api/v1/sites",
        content=b'{"id": "s-nul", "name": "a\\u0000b"}',
        headers={**admin, "content-type": "application/json"},
    )
    assert reply.status_code == 400 and "NUL" in reply.json()["detail"]
    assert client.post("/login", data={"username": "a\x00b", "password": "x"}).status_code == 400
    # "%00" in JSON text is just text
    ok = client.post("/api/v1/sites", json={"id": f"s-pct-{world.site_id[5:]}", "name": "100%00"}, headers=admin)
    assert ok.status_code == 201, ok.text
