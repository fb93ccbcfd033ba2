"""Batch ingest: atomic, idempotent, ordered, scoped to the gateway's site, with clear 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core_ext.chain import GENESIS_HASH, chain_hash
from server.db import make_engine
from server.models import JournalEntry

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

T0 = 1_763_700_000_000


def _stored_count(settings, gateway_id: str) -> int:
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.gateway_id == gateway_id)
        ).scalar_one()
    engine.dispose()
    return count


def test_batch_is_stored_and_replay_is_acknowledged_not_stored(world, settings):
    j = world.journal
    entries = [
        j.event(T0, "tag_seen", reader="rdr-entry", tag="t1"),
        j.location(T0, "p1", "entry"),
        j.custody(T0, "p1", "in"),
    ]
    first = world.ingest(*entries)
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 3, "duplicates": 0, "last_seq": 3}
    replay = world.ingest(*entries)
    assert replay.json() == {"stored": 0, "duplicates": 3, "last_seq": 3}
    # overlap: two old, one new
    overlap = world.ingest(*entries[1:], j.location(T0 + 1000, "p1", "check", "entry"))
    assert overlap.json() == {"stored": 1, "duplicates": 2, "last_seq": 4}
    assert _stored_count(settings, world.gateway_id) == 4
    state = world.client.get("/api/v1/gateway/state", headers=world.gw)
    assert state.json() == {
        "gateway_id": world.gateway_id,
        "site_id": world.site_id,
        "last_seq": 4,
        "last_hash": j.hashes[4],
    }


def test_gap_is_409_with_expected_seq_and_nothing_stored(world, settings):
    j = world.journal
    assert world.ingest(j.event(T0, "tag_seen", reader="r", tag="t")).status_code == 200
    j.next_seq = 5  # skip 2..4
    reply = world.ingest(j.event(T0, "tag_seen", reader="r", tag="t"))
    assert reply.status_code == 409
    assert reply.json()["expected_seq"] == 2
    assert _stored_count(settings, world.gateway_id) == 1


def test_batch_is_atomic_when_a_later_entry_is_malformed(world, settings):
    j = world.journal
    good = j.location(T0, "p1", "entry")
    bad = j.entry("event", T0, {"ts": "yesterday", "type": "tag_seen", "reader": "r", "tag": "t"})
    reply = world.ingest(good, bad)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == "entries[1].body.ts"
    assert reply.json()["detail"][0]["loc"] == ["body", "entries", 1, "body", "ts"]
    assert _stored_count(settings, world.gateway_id) == 0
    board = world.client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth("admin")).json()
    assert all(not z["subjects"] and not z["staff"] for z in board["zones"])


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["entries"][0].pop("hash"), "entries[0]"),
        (lambda b: b["entries"][0].update(kind="gossip"), "entries[0].kind"),
        (lambda b: b["entries"][0].update(seq=0), "entries[0].seq"),
        (lambda b: b["entries"][0]["body"].pop("person"), "entries[0].body"),
        (lambda b: b["entries"][0]["body"].update(zone=5), "entries[0].body.zone"),
        (lambda b: b.pop("site_id"), "body"),
    ],
)
def test_malformed_batches_name_the_field(world, mutate, field):
    batch = world.journal.batch(world.journal.location(T0, "p1", "entry"))
    mutate(batch)
    reply = world.client.post("/api/v1/ingest", json=batch, headers=world.gw)
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"][0]
    assert detail["field"] == field, detail
    assert detail["msg"]


def test_non_contiguous_entries_within_a_batch_are_422(world):
    j = world.journal
    first = j.location(T0, "p1", "entry")
    j.next_seq += 1
    reply = world.ingest(first, j.location(T0, "p1", "check"))
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == "entries[1].seq"


def test_invalid_json_is_422(world):
    reply = world.client.post(
        "/api/v1/ingest", content=b"{not json", headers={**world.gw, "content-type": "application/json"}
    )
    assert reply.status_code == 422


def test_gateway_posting_for_another_site_is_403(world, client, admin_token):
    from server_world import make_world

    other = make_world(client, admin_token)
    batch = world.journal.batch(world.journal.location(T0, "p1", "entry"))
    batch["site_id"] = other.site_id
    assert client.post("/api/v1/ingest", json=batch, headers=world.gw).status_code == 403
    # and it cannot describe the other site either
    from uplink_builder import demo_descriptor

    assert (
        client.put(
            f"/api/v1/sites/{other.site_id}/descriptor", json=demo_descriptor(other.site_id), headers=world.gw
        ).status_code
        == 403
    )
    # a batch claiming another gateway's id is refused too
    batch = world.journal.batch(world.journal.location(T0, "p1", "entry"))
    batch["gateway_id"] = other.gateway_id
    assert client.post("/api/v1/ingest", json=batch, headers=world.gw).status_code == 403


def test_oversized_batches_are_413(world, settings):
    j = world.journal
    too_many = [j.event(T0 + i, "tag_seen", reader="r", tag="t") for i in range(settings.ingest_max_entries + 1)]
    assert world.ingest(*too_many).status_code == 413
    huge = j.batch(j.event(T0, "tag_seen", reader="r", tag="t" * 100, padding="x" * settings.ingest_max_bytes))
    assert world.client.post("/api/v1/ingest", json=huge, headers=world.gw).status_code == 413


def test_ingest_without_or_with_wrong_credential_is_401(world):
    batch = world.journal.batch(world.journal.location(T0, "p1", "entry"))
    assert world.client.post("/api/v1/ingest", json=batch).status_code == 401
    assert (
        world.client.post("/api/v1/ingest", json=batch, headers={"Authorization": "Bearer cgw_wrong"}).status_code
        == 401
    )
    # a user token is not a gateway credential
    assert world.client.post("/api/v1/ingest", json=batch, headers=world.auth("admin")).status_code == 401


def test_unknown_event_type_is_stored_verbatim(world, settings):
    j = world.journal
    entry = j.event(T0, "reader_health", reader="rdr-1", voltage=11.9)
    assert world.ingest(entry).json()["stored"] == 1
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        body = conn.execute(select(JournalEntry.body).where(JournalEntry.gateway_id == world.gateway_id)).scalar_one()
    engine.dispose()
    import json

    assert json.loads(body) == entry["body"]


def test_bodies_are_stored_byte_for_byte(world, settings):
    """Whitespace, escapes and unknown fields survive (COPY text escaping on PostgreSQL included)."""
    body = '{\n\t"ts": 1763700000000,\r\n "type": "tag_seen", "reader": "rdr\\\\1", "tag": "t\\"q\\n",\n "vendor": {"x": [1, 2], "nul": "\\u0000"}}'
    digest = chain_hash(GENESIS_HASH, body.encode())  # over the body's bytes exactly as sent
    raw = (
        f'{{"gateway_id": "{world.gateway_id}", "site_id": "{world.site_id}", "entries": [{{"seq": 1, '
        f'"ts": 1763700000000, "kind": "event", "hash": "{digest}", "body": {body}}}]}}'
    )
    reply = world.client.post(
        "/api/v1/ingest", content=raw.encode(), headers={**world.gw, "content-type": "application/json"}
    )
    assert reply.status_code == 200, reply.text
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(JournalEntry.body).where(JournalEntry.gateway_id == world.gateway_id)).scalar_one()
    engine.dispose()
    assert stored == body
