"""Batch ingest: store a gateway's journal entries once, and derive the live projections.

One transaction per batch. The gateway row is locked first (UPDATE ... RETURNING), so two
copies of the same batch arriving at two server processes are serialised: the second sees the
first's last_seq and is acknowledged as duplicates.

Every chain is checked (core_ext/chain.py): a new entry is stored only if its hash is
sha256(previous hash + its body bytes as sent); a replayed entry must carry the hash stored for
its seq; a signature entry must sign a hash of this chain with the gateway's registered key.
Otherwise nothing of the batch is stored, the answer is 409 naming the seq, and the gateway is
marked (chain_conflict_*) until an admin clears the mark.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core_ext.chain import (
    GENESIS_HASH,
    SIGNATURE_KIND,
    key_id,
    load_public_key,
    raw_public_key,
    verify_head,
)
from server.db import begin_write
from server.models import Gateway, GatewayAudit, JournalEntry
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


class ChainConflict(Exception):
    """The batch contradicts the gateway's chain at `seq` (or a signature there fails)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def ingest_batch(session: Session, gateway_id: str, site_id: str, entries: list[u.DecodedEntry], now: int) -> IngestResult:
    begin_write(session)
    last_seq, last_hash, public_key_pem = session.execute(
        update(Gateway).where(Gateway.id == gateway_id).values(last_seen_ts=now)
        .returning(Gateway.last_seq, Gateway.last_hash, Gateway.public_key_pem)
    ).one()
    if last_hash is None:
        last_hash = GENESIS_HASH if last_seq == 0 else _stored_hashes(session, gateway_id, last_seq, last_seq)[last_seq]
    fresh = [e for e in entries if e.seq > last_seq]
    duplicates = len(entries) - len(fresh)
    try:
        if duplicates:
            _check_replayed(session, gateway_id, entries[:duplicates])
        if fresh and fresh[0].seq != last_seq + 1:
            session.rollback()
            raise SeqGap(last_seq + 1, fresh[0].seq)
        new_hash = _check_chain(fresh, last_hash) if fresh else last_hash
        verified, unverified, last_signed = _check_signatures(session, gateway_id, entries, fresh, public_key_pem)
    except ChainConflict as conflict:
        session.rollback()
        mark_chain_conflict(session, gateway_id, site_id, conflict, now)
        raise
    if not fresh:
        session.commit()
        return IngestResult(0, duplicates, last_seq)

    _store_journal(session, gateway_id, site_id, fresh)
    Projector(session, gateway_id, site_id).apply(fresh)
    record_stats(session, gateway_id, site_id, fresh)
    new_last = fresh[-1].seq
    values: dict = {"last_seq": new_last, "last_hash": new_hash}
    if verified or unverified:
        values.update(signatures_verified=Gateway.signatures_verified + verified,
                      signatures_unverified=Gateway.signatures_unverified + unverified, last_signed_seq=last_signed)
    session.execute(update(Gateway).where(Gateway.id == gateway_id).values(**values))
    bump_site_version(session, site_id)
    session.commit()
    return IngestResult(len(fresh), duplicates, new_last)


def stored_hash(session: Session, gateway_id: str, seq: int) -> str:
    return _stored_hashes(session, gateway_id, seq, seq)[seq]


def _stored_hashes(session: Session, gateway_id: str, first: int, last: int) -> dict[int, str]:
    rows = session.execute(
        select(JournalEntry.seq, JournalEntry.hash)
        .where(JournalEntry.gateway_id == gateway_id, JournalEntry.seq >= first, JournalEntry.seq <= last)
    )
    return {seq: digest for seq, digest in rows}


def _check_replayed(session: Session, gateway_id: str, replayed: list[u.DecodedEntry]) -> None:
    """Entries already stored must come back with the hash stored for their seq."""
    stored = _stored_hashes(session, gateway_id, replayed[0].seq, replayed[-1].seq)
    for e in replayed:
        have = stored.get(e.seq)
        if have is not None and have != e.hash:
            raise ChainConflict(e.seq, f"the center stores hash {have[:16]}… for this seq, the batch says {e.hash[:16]}…")


def _check_chain(fresh: list[u.DecodedEntry], prev: str) -> str:
    """Each new entry's hash must be sha256(previous hash + body as sent); returns the last hash."""
    sha256 = hashlib.sha256
    prev_bytes = prev.encode("ascii")
    for e in fresh:
        digest = sha256(prev_bytes + e.raw_body).hexdigest()
        if digest != e.hash:
            raise ChainConflict(e.seq, f"hash {e.hash[:16]}… does not follow the previous entry (expected {digest[:16]}…)")
        prev_bytes = digest.encode("ascii")
    return fresh[-1].hash


@functools.lru_cache(maxsize=256)
def _public_key(pem: str):
    key = load_public_key(pem)
    return key, key_id(raw_public_key(key))


def _check_signatures(
    session: Session, gateway_id: str, entries: list[u.DecodedEntry], fresh: list[u.DecodedEntry], pem: str | None,
) -> tuple[int, int, int | None]:
    """Verify the new signature entries: (verified, unverified for want of a key, last signed seq)."""
    signatures = [e for e in fresh if e.kind == SIGNATURE_KIND]
    if not signatures:
        return 0, 0, None
    in_batch = {e.seq: e.hash for e in entries}
    outside = {s.body.signed_seq for s in signatures} - in_batch.keys()
    stored = {}
    if outside:
        stored = _stored_hashes(session, gateway_id, min(outside), max(outside))
    key = _public_key(pem)[0] if pem else None
    registered_id = _public_key(pem)[1] if pem else None
    verified = unverified = 0
    for e in signatures:
        body = e.body
        if body.signed_seq >= e.seq:
            raise ChainConflict(e.seq, f"signs seq {body.signed_seq}, which is not before the signature")
        chain_hash = in_batch.get(body.signed_seq) or stored.get(body.signed_seq)
        if chain_hash != body.signed_hash:
            raise ChainConflict(e.seq, f"signs hash {body.signed_hash[:16]}… for seq {body.signed_seq}, "
                                       f"the chain has {(chain_hash or 'nothing')[:16]}…")
        if key is None:
            unverified += 1
            continue
        if body.key_id != registered_id:
            raise ChainConflict(e.seq, f"signed with key {body.key_id}, the registered key is {registered_id}")
        if not verify_head(key, gateway_id, body.signed_seq, body.signed_hash, body.sig):
            raise ChainConflict(e.seq, f"the signature of seq {body.signed_seq} does not verify with key {registered_id}")
        verified += 1
    return verified, unverified, signatures[-1].body.signed_seq


def mark_chain_conflict(session: Session, gateway_id: str, site_id: str, conflict: ChainConflict, now: int) -> None:
    """In its own transaction (the batch's was rolled back): mark the gateway, audit, tell the boards."""
    begin_write(session)
    marked = session.execute(select(Gateway.chain_conflict_seq).where(Gateway.id == gateway_id)).scalar_one()
    if marked is not None:
        # Already marked: a gateway retrying the batch would otherwise fill the audit log.
        session.commit()
        return
    session.execute(update(Gateway).where(Gateway.id == gateway_id).values(
        chain_conflict_seq=conflict.seq, chain_conflict_ts=now, chain_conflict_detail=conflict.reason[:2000]))
    session.add(GatewayAudit(gateway_id=gateway_id, action="chain_conflict", at_ts=now, user_id=None, username=None,
                             comment=str(conflict)[:2000]))
    bump_site_version(session, site_id)
    session.commit()


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
        lines: list[bytes] = []
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
        with driver_connection.cursor() as cursor:  # type: ignore[union-attr]  # a connection checked out of the pool always has its DBAPI connection
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
