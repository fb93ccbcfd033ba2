"""Batch ingest: store a gateway's journal entries once, and derive the live projections.

One transaction per batch. The gateway row is locked first (UPDATE ... RETURNING), so two
copies of the same batch arriving at two server processes are serialised: the second sees the
first's last_seq and is acknowledged as duplicates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from server.db import begin_write
from server.models import Gateway, JournalEntry
from server.schemas import uplink as u
from server.schemas.uplink_bodies import SUBJECT_GETTERS, entry_subject
from server.services.live_signal import bump_site_version
from server.services.projections import Projector
from server.services.stats_record import record_stats

_COPY_SPECIAL = re.compile(rb"[\\\t\n\r]")
_KIND_BYTES = {kind: kind.encode() for kind in u.KINDS}


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    last_seq: int


class SeqGap(Exception):
    """The first new entry is not last_seq + 1: the gateway must resend from expected_seq."""

    def __init__(self, expected_seq: int, got_seq: int) -> None:
        super().__init__(f"expected seq {expected_seq}, batch continues at {got_seq}")
        self.expected_seq = expected_seq
        self.got_seq = got_seq


def ingest_batch(session: Session, gateway_id: str, site_id: str, entries: list[u.DecodedEntry], now: int) -> IngestResult:
    begin_write(session)
    last_seq = session.execute(
        update(Gateway).where(Gateway.id == gateway_id).values(last_seen_ts=now).returning(Gateway.last_seq)
    ).scalar_one()
    fresh = [e for e in entries if e.seq > last_seq]
    duplicates = len(entries) - len(fresh)
    if not fresh:
        session.commit()
        return IngestResult(0, duplicates, last_seq)
    if fresh[0].seq != last_seq + 1:
        session.rollback()
        raise SeqGap(last_seq + 1, fresh[0].seq)

    _store_journal(session, gateway_id, site_id, fresh)
    Projector(session, gateway_id, site_id).apply(fresh)
    record_stats(session, gateway_id, site_id, fresh)
    new_last = fresh[-1].seq
    session.execute(update(Gateway).where(Gateway.id == gateway_id).values(last_seq=new_last))
    bump_site_version(session, site_id)
    session.commit()
    return IngestResult(len(fresh), duplicates, new_last)


def _store_journal(session: Session, gateway_id: str, site_id: str, entries: list[u.DecodedEntry]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY is several times faster than multi-row INSERT and runs in the same transaction.
        # The rows are built as COPY text here (bytes operations in C) rather than row by row.
        prefix = _copy_text(gateway_id.encode()) + b"\t"
        site = b"\t" + _copy_text(site_id.encode()) + b"\t"
        # kind and hash are validated (a fixed word, hex digits): nothing in them needs escaping.
        # One %-format per row and no function call for the common case (nothing to escape, no
        # subject): this loop runs for every entry, so it is kept tight.
        lines = []
        append = lines.append
        needs_escape = _COPY_SPECIAL.search
        subject_of = SUBJECT_GETTERS.get
        for e in entries:
            body = e.body
            get_subject = subject_of(type(body))
            if get_subject is None:
                subject = b"\\N"
            else:
                subject = get_subject(body).encode()
                if needs_escape(subject) is not None:
                    subject = _copy_text(subject)
            raw = e.raw_body
            if needs_escape(raw) is not None:
                raw = _copy_text(raw)
            append(b"%b%d%b%d\t%b\t%b\t%b\t%b\n" % (prefix, e.seq, site, e.ts, _KIND_BYTES[e.kind], subject, e.hash.encode(), raw))
        driver_connection = connection.connection.driver_connection
        with driver_connection.cursor() as cursor:
            with cursor.copy(
                "COPY journal_entries (gateway_id, seq, site_id, ts, kind, subject, hash, body) FROM STDIN"
            ) as copy:
                copy.write(b"".join(lines))
        return
    session.execute(insert(JournalEntry), [
        {"gateway_id": gateway_id, "seq": e.seq, "site_id": site_id, "ts": e.ts, "kind": e.kind,
         "subject": entry_subject(e.body), "hash": e.hash, "body": e.raw_body.decode()}
        for e in entries
    ])


def _copy_text(value: bytes) -> bytes:
    """Escape for COPY's text format (JSON may hold backslashes, and tabs or newlines as whitespace)."""
    if _COPY_SPECIAL.search(value) is None:
        return value
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
