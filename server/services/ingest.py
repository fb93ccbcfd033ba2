"""Batch ingest: store a gateway's journal entries once, and derive the live projections.

One transaction per batch. The gateway row is locked first (UPDATE ... RETURNING), so two
copies of the same batch arriving at two server processes are serialised: the second sees the
first's last_seq and is acknowledged as duplicates.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.db import begin_write
from server.models import Alert, CustodySubject, Gateway, Item, JournalEntry, SitePerson
from server.schemas import uplink as u
from server.services.live_signal import bump_site_version
from server.services.upsert import insert_ignoring_duplicates, upsert_rows

_IN_CHUNK = 500  # bound IN (...) lists well under every driver's parameter limit
_COPY_SPECIAL = re.compile(rb"[\\\t\n\r]")
_PROJECTED_EVENTS = frozenset({u.Enroll, u.Checkin, u.Checkout, u.Intake, u.WorkOrder, u.Locker})


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
    _Projector(session, gateway_id, site_id).apply(fresh)
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
        # kind and hash are validated (a fixed word, hex digits): nothing in them needs escaping
        lines = [
            b"".join((
                prefix, b"%d" % e.seq, site, b"%d\t%s\t" % (e.ts, e.kind.encode()),
                _copy_optional(u.entry_subject(e.body)), b"\t%s\t" % e.hash.encode(), _copy_text(e.raw_body), b"\n",
            ))
            for e in entries
        ]
        driver_connection = connection.connection.driver_connection
        with driver_connection.cursor() as cursor:
            with cursor.copy(
                "COPY journal_entries (gateway_id, seq, site_id, ts, kind, subject, hash, body) FROM STDIN"
            ) as copy:
                copy.write(b"".join(lines))
        return
    session.execute(insert(JournalEntry), [
        {"gateway_id": gateway_id, "seq": e.seq, "site_id": site_id, "ts": e.ts, "kind": e.kind,
         "subject": u.entry_subject(e.body), "hash": e.hash, "body": e.raw_body.decode()}
        for e in entries
    ])


def _copy_text(value: bytes) -> bytes:
    """Escape for COPY's text format (JSON may hold backslashes, and tabs or newlines as whitespace)."""
    if _COPY_SPECIAL.search(value) is None:
        return value
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def _copy_optional(value: str | None) -> bytes:
    return b"\\N" if value is None else _copy_text(value.encode())


def _load(session: Session, model: type, site_id: str, key_column: str, keys: Iterable[str]) -> dict[str, Any]:
    keys = list(keys)
    found: dict[str, Any] = {}
    column = getattr(model, key_column)
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        for row in session.execute(select(model).where(model.site_id == site_id, column.in_(chunk))).scalars():
            found[getattr(row, key_column)] = row
    return found


def _row_dict(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


class _Projector:
    """Folds a batch into people, custody, items and alerts; writes each touched row once."""

    def __init__(self, session: Session, gateway_id: str, site_id: str) -> None:
        self.session = session
        self.gateway_id = gateway_id
        self.site_id = site_id
        self.people: dict[str, dict[str, Any]] = {}
        self.custody: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.health: tuple[int, dict[str, Any]] | None = None

    def apply(self, entries: list[u.DecodedEntry]) -> None:
        # Most entries (reader reads, camera states) change no projection: fold only the others.
        entries = [e for e in entries if e.kind != "event" or type(e.body) in _PROJECTED_EVENTS]
        self._preload(entries)
        for entry in entries:
            body = entry.body
            kind = entry.kind
            if kind == "location":
                self._location(body)
            elif kind == "custody":
                self._custody(body)
            elif kind == "event":
                self._event(body)
            elif kind == "alert":
                self._alert(entry.seq, body)
            elif kind == "item_trail":
                self._item_trail(entry.ts, body)
            elif kind == "health":
                self.health = (entry.ts, {"gateway": body.gateway, "devices": body.devices})
        upsert_rows(self.session, SitePerson.__table__, list(self.people.values()))
        upsert_rows(self.session, CustodySubject.__table__, list(self.custody.values()))
        upsert_rows(self.session, Item.__table__, list(self.items.values()))
        if self.health is not None:
            ts, health = self.health
            self.session.execute(update(Gateway).where(Gateway.id == self.gateway_id).values(health=health, health_ts=ts))

    def _preload(self, entries: list[u.DecodedEntry]) -> None:
        people: set[str] = set()
        items: set[str] = set()
        slots: set[tuple[str, int]] = set()
        for e in entries:
            b = e.body
            if e.kind in ("location", "custody"):
                people.add(b.person)
            elif e.kind == "event":
                person = getattr(b, "person", None)
                if person:
                    people.add(person)
                if isinstance(b, (u.Intake, u.WorkOrder)):
                    items.add(b.item)
                elif isinstance(b, u.Locker) and b.state == "closed":
                    slots.add((b.bank, b.slot))
                    items.update(b.items or ())
            elif e.kind == "item_trail":
                items.add(b.item)
        for person, row in _load(self.session, SitePerson, self.site_id, "person", people).items():
            self.people[person] = _row_dict(row)
        custody_people = {p for p in people}
        for person, row in _load(self.session, CustodySubject, self.site_id, "person", custody_people).items():
            self.custody[person] = _row_dict(row)
        if slots:
            banks = {bank for bank, _ in slots}
            for row in self.session.execute(
                select(Item).where(Item.site_id == self.site_id, Item.bank.in_(banks), Item.state != "disposed")
            ).scalars():
                self.items[row.item] = _row_dict(row)
        missing_items = items - self.items.keys()
        for item, row in _load(self.session, Item, self.site_id, "item", missing_items).items():
            self.items[item] = _row_dict(row)

    # -- people and custody ---------------------------------------------------------------

    def _person(self, person: str, ts: int) -> dict[str, Any]:
        row = self.people.get(person)
        if row is None:
            row = {
                "site_id": self.site_id, "person": person, "category": "unknown", "role": None,
                "sex": None, "zone": None, "zone_since_ts": None, "last_ts": ts,
            }
            self.people[person] = row
        row["last_ts"] = max(row["last_ts"], ts)
        return row

    def _location(self, body: u.LocationBody) -> None:
        row = self._person(body.person, body.ts)
        if row["zone"] != body.zone or row["zone_since_ts"] is None:
            row["zone"] = body.zone
            row["zone_since_ts"] = body.ts

    def _subject_row(self, person: str, ts: int) -> dict[str, Any]:
        row = self.custody.get(person)
        if row is None:
            row = {
                "site_id": self.site_id, "person": person, "state": "in", "role": None, "sex": None,
                "case": None, "basis": None, "arrived_ts": None, "limit_ms": None, "deadline_ts": None,
                "checkin_ts": None, "checkout_ts": None, "updated_ts": ts,
            }
            self.custody[person] = row
        row["updated_ts"] = max(row["updated_ts"], ts)
        return row

    def _custody(self, body: u.CustodyBody) -> None:
        person = self._person(body.person, body.ts)
        person["category"] = "subject"
        person["role"] = body.role or person["role"]
        person["sex"] = body.sex or person["sex"]
        row = self._subject_row(body.person, body.ts)
        if body.state != "out" and row["state"] == "out":
            row["checkout_ts"] = None  # back in custody: a new stay at the site
        row["state"] = body.state
        for field in ("role", "sex", "case", "basis", "arrived_ts", "limit_ms", "deadline_ts"):
            value = getattr(body, field)
            if value is not None:
                row[field] = value
        if body.state == "in" and row["checkin_ts"] is None:
            row["checkin_ts"] = body.ts
        if body.state == "out":
            row["checkout_ts"] = body.ts

    def _event(self, body: Any) -> None:
        if isinstance(body, u.Enroll):
            person = self._person(body.person, body.ts)
            person.update(category="staff", role=body.role, sex=body.sex)
        elif isinstance(body, u.Checkin):
            person = self._person(body.person, body.ts)
            person.update(category="subject", role=body.role, sex=body.sex)
            row = self._subject_row(body.person, body.ts)
            row.update(
                state="extended" if body.extended else "in", role=body.role, sex=body.sex, case=body.case,
                basis=body.basis, arrived_ts=body.arrived_ts if body.arrived_ts is not None else body.ts,
                checkin_ts=body.ts, checkout_ts=None,
            )
        elif isinstance(body, u.Checkout):
            row = self._subject_row(body.person, body.ts)
            row.update(state="out", checkout_ts=body.ts)
            person = self._person(body.person, body.ts)
            person.update(zone=None, zone_since_ts=body.ts)
        elif isinstance(body, u.Intake):
            self.items[body.item] = {
                "site_id": self.site_id, "item": body.item, "case": body.case, "bank": body.bank,
                "slot": body.slot, "state": "in", "due_ts": None, "intake_ts": body.ts, "closed": False,
                "last_ts": body.ts,
            }
        elif isinstance(body, u.WorkOrder):
            row = self.items.get(body.item)
            if row is not None and body.action == "withdraw" and body.due_ts is not None:
                row.update(due_ts=body.due_ts, last_ts=max(row["last_ts"], body.ts))
        elif isinstance(body, u.Locker) and body.state == "closed" and body.items is not None:
            self._slot_closed(body)

    def _slot_closed(self, body: u.Locker) -> None:
        sensed = set(body.items or ())
        for row in self.items.values():
            if row["state"] == "disposed":
                continue
            in_this_slot = row["bank"] == body.bank and row["slot"] == body.slot
            if row["item"] in sensed:
                if row["state"] != "in" or not in_this_slot:
                    row.update(state="in", bank=body.bank, slot=body.slot, due_ts=None, last_ts=body.ts)
            elif in_this_slot and row["state"] == "in":
                row.update(state="out", last_ts=body.ts)

    def _item_trail(self, ts: int, body: u.ItemTrailBody) -> None:
        row = self.items.get(body.item)
        if row is None:
            row = {
                "site_id": self.site_id, "item": body.item, "case": None, "bank": None, "slot": None,
                "state": "in", "due_ts": None, "intake_ts": None, "closed": False, "last_ts": ts,
            }
            self.items[body.item] = row
        row["closed"] = body.closed
        if body.closed:
            row["state"] = "disposed"
        row["last_ts"] = max(row["last_ts"], ts)

    # -- alerts: rare, applied in order so a raise and its clear may share a batch ---------

    def _alert(self, seq: int, body: u.AlertBody) -> None:
        if body.state == "raised":
            # (site, rule, subject, raised ts) is the alert's identity: a second report of the
            # same raise (e.g. from a re-journalled gateway) is the same alert, not a new one.
            insert_ignoring_duplicates(
                self.session, Alert.__table__,
                {
                    "site_id": self.site_id, "rule": body.rule, "subject": body.subject, "zone": body.zone,
                    "severity": body.severity, "detail": body.detail, "raised_ts": body.ts, "status": "open",
                    "gateway_id": self.gateway_id, "raised_seq": seq,
                },
            )
            return
        open_alert = self.session.execute(
            select(Alert.id)
            .where(
                Alert.site_id == self.site_id, Alert.rule == body.rule, Alert.subject == body.subject,
                Alert.cleared_ts.is_(None), Alert.raised_ts <= body.ts,
            )
            .order_by(Alert.raised_ts.desc())
            .limit(1)
        ).scalar_one_or_none()
        if open_alert is None:
            # A clear for an alert raised before this server knew the gateway (or lost upstream):
            # keep it visible as an alert raised and cleared at the same moment, never drop it.
            self.session.execute(
                insert(Alert).values(
                    site_id=self.site_id, rule=body.rule, subject=body.subject, zone=body.zone,
                    severity=body.severity, detail=body.detail, raised_ts=body.ts, cleared_ts=body.ts,
                    status="open", gateway_id=self.gateway_id, raised_seq=seq,
                )
            )
            return
        self.session.execute(update(Alert).where(Alert.id == open_alert).values(cleared_ts=body.ts))

