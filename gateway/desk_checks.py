"""Checks a desk request against the engine's current state before the engine sees it.

The engine's decoder would reject these too, but only after interning the new names, which
would make a live run differ (in internal numbering) from a replay of the journal, where the
rejected request never appears. Checking first keeps a refused request a true no-op. Each
problem names the request field it is about.
"""
from __future__ import annotations

from typing import Any

from core_ext.api import CustodyEngine

# The decoder's person states (core_ext/events.py: _STAFF, _IN, _OUT).
STAFF, CHECKED_IN, CHECKED_OUT = 1, 2, 3


class DeskRejected(ValueError):
    """A desk request the engine state does not allow; `field` names the request field."""

    def __init__(self, field: str, message: str, status: int = 409) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def precheck(engine: CustodyEngine, event: dict[str, Any]) -> None:
    decoder = engine.decoder
    etype = event["type"]
    person_name = event.get("person")
    person = decoder.persons.index.get(person_name) if isinstance(person_name, str) else None
    kind = decoder.person_kind.get(person) if person is not None else None
    tag = event.get("tag")
    if etype in ("enroll", "checkin"):
        owner = decoder.tag_owner.get(tag) if isinstance(tag, str) else None
        if owner is not None and owner != person:
            raise DeskRejected("tag", f"tag {tag!r} is already worn by {decoder.persons.names[owner]!r}")
    if etype == "checkin":
        arrived = event.get("arrived_ts")
        if isinstance(arrived, int) and arrived > event["ts"]:
            raise DeskRejected("arrived_ts", f"arrival {arrived} is after the check-in time {event['ts']}", status=422)
        if kind == CHECKED_IN:
            raise DeskRejected("person", f"{person_name!r} is already checked in")
        if kind == STAFF:
            raise DeskRejected("person", f"{person_name!r} is enrolled staff, not a subject")
    elif etype == "enroll":
        if kind == CHECKED_IN:
            raise DeskRejected("person", f"{person_name!r} is checked in as a subject")
    elif etype in ("extend", "checkout"):
        if kind != CHECKED_IN:
            state = "checked out already" if kind == CHECKED_OUT else "not checked in"
            raise DeskRejected("person", f"{person_name!r} is {state}", status=409 if kind == CHECKED_OUT else 404)
    elif etype == "workorder":
        if event.get("id") in decoder.workorders.index:
            raise DeskRejected("id", f"work order {event.get('id')!r} exists already")
    if etype in ("intake", "workorder"):
        bank = event.get("bank")
        if bank not in engine.site.bank_index:
            raise DeskRejected("bank", f"unknown locker bank {bank!r} (this site has: "
                               f"{', '.join(engine.site.bank_index) or 'none'})", status=422)
        slots = engine.site.bank_slots[engine.site.bank_index[bank]]
        slot = event.get("slot")
        if not isinstance(slot, int) or not 1 <= slot <= slots:
            raise DeskRejected("slot", f"bank {bank!r} has slots 1..{slots}, got {slot!r}", status=422)
