"""Live projections folded from a batch inside its ingest transaction.

People and where they are, subjects in custody, the property ledger, alerts and gateway health:
what the board and the ledger read, so they never scan the journal.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from core_ext import vocab
from server.models import Alert, CustodySubject, Gateway, Item, SitePerson
from server.schemas import uplink_bodies as b
from server.schemas.uplink import DecodedEntry
from server.services.upsert import insert_ignoring_duplicates, upsert_rows

_IN_CHUNK = 500  # bound IN (...) lists well under every driver's parameter limit
_PROJECTED_EVENTS = frozenset({b.Enroll, b.Checkin, b.Checkout, b.Intake, b.WorkOrder, b.Locker,
                               b.Leave, b.Return, b.Decision, b.Welfare})
# custody records that mark a moment of the custody rather than its state (in / extended / out)
_CUSTODY_MARKS = frozenset({"leave", "return", "decision"})
# What a new custody (check-in) starts without: the second layer's per-custody facts (DESIGN §6.2).
_FRESH_CUSTODY = {
    "minor": False, "vulnerable": False, "guardian": None, "decision_kind": None, "decision_ts": None,
    "last_meal_ts": None, "outcome": None, "released_to": None,
}
_NOT_OUT = {"out_since_ts": None, "out_reason": None, "out_until_ts": None, "out_approved_by": None}


def _load(session: Session, model: type, site_id: str, key_column: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Rows as plain dicts by key: Core rows, no ORM objects (this runs for every batch)."""
    keys = list(keys)
    found: dict[str, dict[str, Any]] = {}
    table = cast(Table, model.__table__)  # type: ignore[attr-defined]  # every model passed in is a mapped class
    column = table.c[key_column]
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        for row in session.execute(select(table).where(table.c.site_id == site_id, column.in_(chunk))).mappings():
            found[row[key_column]] = dict(row)
    return found


class Projector:
    """Folds a batch into people, custody, items and alerts; writes each touched row once."""

    def __init__(self, session: Session, gateway_id: str, site_id: str) -> None:
        self.session = session
        self.gateway_id = gateway_id
        self.site_id = site_id
        self.people: dict[str, dict[str, Any]] = {}
        self.custody: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.health: tuple[int, dict[str, Any]] | None = None

    def apply(self, entries: list[DecodedEntry]) -> None:
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
        upsert_rows(self.session, cast(Table, SitePerson.__table__), list(self.people.values()))
        upsert_rows(self.session, cast(Table, CustodySubject.__table__), list(self.custody.values()))
        upsert_rows(self.session, cast(Table, Item.__table__), list(self.items.values()))
        if self.health is not None:
            ts, health = self.health
            self.session.execute(update(Gateway).where(Gateway.id == self.gateway_id).values(health=health, health_ts=ts))

    def _preload(self, entries: list[DecodedEntry]) -> None:
        people: set[str] = set()
        items: set[str] = set()
        slots: set[tuple[str, int]] = set()
        for e in entries:
            body = e.body
            if e.kind in ("location", "custody"):
                people.add(body.person)
            elif e.kind == "event":
                person = getattr(body, "person", None)
                if person:
                    people.add(person)
                if isinstance(body, (b.Intake, b.WorkOrder)):
                    items.add(body.item)
                elif isinstance(body, b.Locker) and body.state == "closed":
                    slots.add((body.bank, body.slot))
                    items.update(body.items or ())
            elif e.kind == "item_trail":
                items.add(body.item)
        self.people.update(_load(self.session, SitePerson, self.site_id, "person", people))
        self.custody.update(_load(self.session, CustodySubject, self.site_id, "person", people))
        if slots:
            banks = {bank for bank, _ in slots}
            items_table = cast(Table, Item.__table__)
            for row in self.session.execute(
                select(items_table).where(
                    items_table.c.site_id == self.site_id, items_table.c.bank.in_(banks), items_table.c.state != "disposed"
                )
            ).mappings():
                self.items[row["item"]] = dict(row)
        missing_items = items - self.items.keys()
        self.items.update(_load(self.session, Item, self.site_id, "item", missing_items))

    # -- people and custody ---------------------------------------------------------------

    def _person(self, person: str, ts: int) -> dict[str, Any]:
        row = self.people.get(person)
        if row is None:
            row = {
                "site_id": self.site_id, "person": person, "category": "unknown", "role": None,
                "sex": None, "guardian_for": None, "zone": None, "zone_since_ts": None, "last_ts": ts,
            }
            self.people[person] = row
        row["last_ts"] = max(row["last_ts"], ts)
        return row

    def _location(self, body: b.LocationBody) -> None:
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
                "checkin_ts": None, "checkout_ts": None, "updated_ts": ts, **_FRESH_CUSTODY, **_NOT_OUT,
            }
            self.custody[person] = row
        row["updated_ts"] = max(row["updated_ts"], ts)
        return row

    def _custody(self, body: b.CustodyBody) -> None:
        person = self._person(body.person, body.ts)
        person["category"] = "subject"
        person["role"] = body.role or person["role"]
        person["sex"] = body.sex or person["sex"]
        row = self._subject_row(body.person, body.ts)
        # The gateway's own reading of the check-in (minor, vulnerable, the named guardian) wins.
        for field in ("minor", "vulnerable", "guardian"):
            value = getattr(body, field)
            if value is not None:
                row[field] = value
        if body.state in _CUSTODY_MARKS:
            self._custody_mark(row, body)
            return
        if body.state != "out" and row["state"] == "out":
            # back in custody: a new stay at the site, its clock and trail start again
            row["checkout_ts"] = None
            row["checkin_ts"] = body.ts
        for field in ("role", "sex", "case", "basis", "arrived_ts", "limit_ms", "deadline_ts"):
            value = getattr(body, field)
            if value is not None:
                row[field] = value
        row["state"] = body.state
        if body.state != "out" and row["checkin_ts"] is None:
            row["checkin_ts"] = body.ts
        if body.state == "out":
            row["checkout_ts"] = body.ts
            row.update(_NOT_OUT)

    @staticmethod
    def _custody_mark(row: dict[str, Any], body: b.CustodyBody) -> None:
        """A temporary exit, a return or a decision: the subject stays in custody; the event of the
        same moment (projected before this record) carries the reason, until and kind."""
        for field in ("limit_ms", "deadline_ts"):
            value = getattr(body, field)
            if value is not None:
                row[field] = value
        if body.state == "leave":
            if row["out_since_ts"] is None:
                row["out_since_ts"] = body.ts
        elif body.state == "return":
            row.update(_NOT_OUT)
        elif row["decision_ts"] is None:  # decision: the first one counts (a second does not re-arm)
            row["decision_ts"] = body.ts

    def _event(self, body: Any) -> None:
        if isinstance(body, b.Enroll):
            person = self._person(body.person, body.ts)
            guardian = body.role == vocab.GUARDIAN_ROLE
            person.update(category="guardian" if guardian else "staff", role=body.role, sex=body.sex,
                          guardian_for=body.for_ if guardian else None)
        elif isinstance(body, b.Checkin):
            person = self._person(body.person, body.ts)
            person.update(category="subject", role=body.role, sex=body.sex)
            row = self._subject_row(body.person, body.ts)
            row.update(
                state="extended" if body.extended else "in", role=body.role, sex=body.sex, case=body.case,
                basis=body.basis, arrived_ts=body.arrived_ts if body.arrived_ts is not None else body.ts,
                checkin_ts=body.ts, checkout_ts=None, **_FRESH_CUSTODY, **_NOT_OUT,
            )
            # What the check-in itself says (DESIGN §6.2 "Minor, vulnerable"); the gateway's custody
            # record that follows carries its own reading of the same fields and wins.
            age = body.age
            row.update(
                minor=bool(body.minor or (age is not None and age < vocab.MINOR_UNDER_AGE)),
                vulnerable=body.basis == vocab.VULNERABLE_BASIS and bool(
                    body.pregnant or (age is not None and (age < vocab.VULNERABLE_UNDER_AGE or age >= vocab.VULNERABLE_FROM_AGE))),
                guardian=body.guardian,
            )
        elif isinstance(body, b.Checkout):
            row = self._subject_row(body.person, body.ts)
            row.update(state="out", checkout_ts=body.ts, outcome=body.outcome, released_to=body.released_to, **_NOT_OUT)
            person = self._person(body.person, body.ts)
            person.update(zone=None, zone_since_ts=body.ts)
        elif isinstance(body, (b.Leave, b.Return, b.Decision, b.Welfare)):
            self._custody_event(body)
        elif isinstance(body, b.Intake):
            self.items[body.item] = {
                "site_id": self.site_id, "item": body.item, "case": body.case, "bank": body.bank,
                "slot": body.slot, "state": "in", "due_ts": None, "intake_ts": body.ts, "closed": False,
                "last_ts": body.ts,
            }
        elif isinstance(body, b.WorkOrder):
            item_row = self.items.get(body.item)
            if item_row is not None and body.action == "withdraw" and body.due_ts is not None:
                item_row.update(due_ts=body.due_ts, last_ts=max(item_row["last_ts"], body.ts))
        elif isinstance(body, b.Locker) and body.state == "closed" and body.items is not None:
            self._slot_closed(body)

    def _custody_event(self, body: b.Leave | b.Return | b.Decision | b.Welfare) -> None:
        """Temporary exits, decisions and welfare of a subject in custody (a gateway journals only
        what its engine accepted; one about nobody in custody here changes nothing)."""
        row = self.custody.get(body.person)
        if row is None or row["state"] == "out":
            return
        row["updated_ts"] = max(row["updated_ts"], body.ts)
        if isinstance(body, b.Leave):
            row.update(out_since_ts=body.ts, out_reason=body.reason, out_until_ts=body.until_ts,
                       out_approved_by=body.approved_by)
            self._person(body.person, body.ts).update(zone=None, zone_since_ts=body.ts)
        elif isinstance(body, b.Return):
            row.update(_NOT_OUT)
        elif isinstance(body, b.Decision):
            if row["decision_kind"] is None:  # the first decision counts (a second does not re-arm)
                row.update(decision_kind=body.kind, decision_ts=row["decision_ts"] or body.ts)
        elif body.kind == "meal" and (row["last_meal_ts"] is None or body.ts > row["last_meal_ts"]):
            row["last_meal_ts"] = body.ts

    def _slot_closed(self, body: b.Locker) -> None:
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

    def _item_trail(self, ts: int, body: b.ItemTrailBody) -> None:
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

    def _alert(self, seq: int, body: b.AlertBody) -> None:
        if body.state == "raised":
            # (site, rule, subject, raised ts) is the alert's identity: a second report of the
            # same raise (e.g. from a re-journalled gateway) is the same alert, not a new one.
            insert_ignoring_duplicates(
                self.session, cast(Table, Alert.__table__),
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
            insert_ignoring_duplicates(
                self.session, cast(Table, Alert.__table__),
                {
                    "site_id": self.site_id, "rule": body.rule, "subject": body.subject, "zone": body.zone,
                    "severity": body.severity, "detail": body.detail, "raised_ts": body.ts, "cleared_ts": body.ts,
                    "status": "open", "gateway_id": self.gateway_id, "raised_seq": seq,
                },
            )
            return
        self.session.execute(update(Alert).where(Alert.id == open_alert).values(cleared_ts=body.ts))

