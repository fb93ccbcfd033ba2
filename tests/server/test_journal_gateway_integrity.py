"""The journal names only existing gateways, and a journalled gateway cannot be deleted or renamed.

Migration 0003 replaced the per-row foreign key with per-statement triggers (the COPY runs twice
as fast); these tests hold the triggers to what the foreign key guaranteed, on both databases.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from server.db import make_engine
from server.models import Gateway, JournalEntry

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


def _journalled_world(world) -> None:
    reply = world.ingest(world.journal.event(1_000, "camera", camera="cam-entry", state="recording"))
    assert reply.status_code == 200, reply.text


def _entry(gateway_id: str, site_id: str, seq: int) -> dict:
    return {
        "gateway_id": gateway_id,
        "seq": seq,
        "site_id": site_id,
        "ts": 1,
        "kind": "event",
        "subject": None,
        "hash": "00" * 32,
        "body": "{}",
    }


def test_journal_entry_for_an_unknown_gateway_is_refused(world, engine):
    with engine.begin() as conn:
        conn.execute(insert(JournalEntry), [_entry(world.gateway_id, world.site_id, 900)])  # a known one is fine
    with pytest.raises(IntegrityError, match="gateway"):
        with engine.begin() as conn:
            conn.execute(
                insert(JournalEntry),
                [_entry(world.gateway_id, world.site_id, 901), _entry("gw-nowhere", world.site_id, 1)],
            )
    with engine.connect() as conn:
        assert conn.execute(JournalEntry.__table__.select().where(JournalEntry.seq == 901)).first() is None


def test_moving_journal_entries_to_an_unknown_gateway_is_refused(world, engine):
    _journalled_world(world)
    with pytest.raises(IntegrityError, match="gateway"):
        with engine.begin() as conn:
            conn.execute(
                update(JournalEntry).where(JournalEntry.gateway_id == world.gateway_id).values(gateway_id="gw-nowhere")
            )


def test_a_journalled_gateway_cannot_be_deleted_or_renamed(world, engine):
    _journalled_world(world)
    with pytest.raises(IntegrityError, match="journal entries"):
        with engine.begin() as conn:
            conn.execute(delete(Gateway).where(Gateway.id == world.gateway_id))
    with pytest.raises(IntegrityError, match="journal entries"):
        with engine.begin() as conn:
            conn.execute(update(Gateway).where(Gateway.id == world.gateway_id).values(id=world.gateway_id + "-renamed"))
    with engine.connect() as conn:
        assert conn.execute(Gateway.__table__.select().where(Gateway.id == world.gateway_id)).first() is not None
