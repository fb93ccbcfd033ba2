"""Checks a desk request against the engine's current state before the engine sees it.

The engine's decoder would reject these too, but only after interning the new names, which
would make a live run differ (in internal numbering) from a replay of the journal, where the
rejected request never appears. Checking first keeps a refused request a true no-op. Each
problem names the request field it is about.
"""
from __future__ import annotations

from typing import Any

from core_ext.api import CustodyEngine
from core_ext.i18n import N_, gettext

# The decoder's person states (core_ext/events.py: _STAFF, _IN, _OUT).
STAFF, CHECKED_IN, CHECKED_OUT = 1, 2, 3


class DeskRejected(ValueError):
    """A desk request the engine state does not allow; `field` names the request field.

    `template` is a catalogue msgid with %(name)s placeholders filled from `params`: the desk
    API answers in the caller's language (`localized`), logs and `message` stay English.
    """

    def __init__(self, field: str, template: str, status: int = 409, **params: Any) -> None:
        self.field = field
        self.template = template
        self.params = params
        self.message = template % params
        self.status = status
        super().__init__(f"{field}: {self.message}")

    def localized(self, locale: str) -> str:
        return gettext(locale, self.template) % self.params


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
            raise DeskRejected("tag", N_("tag '%(tag)s' is already worn by '%(owner)s'"), tag=tag,
                               owner=decoder.persons.names[owner])
    if etype == "checkin":
        arrived = event.get("arrived_ts")
        if isinstance(arrived, int) and arrived > event["ts"]:
            raise DeskRejected("arrived_ts", N_("arrival %(arrived)s is after the check-in time %(checkin)s"),
                               status=422, arrived=arrived, checkin=event["ts"])
        if kind == CHECKED_IN:
            raise DeskRejected("person", N_("'%(person)s' is already checked in"), person=person_name)
        if kind == STAFF:
            raise DeskRejected("person", N_("'%(person)s' is enrolled staff, not a subject"), person=person_name)
    elif etype == "enroll":
        if kind == CHECKED_IN:
            raise DeskRejected("person", N_("'%(person)s' is checked in as a subject"), person=person_name)
    elif etype in ("extend", "checkout"):
        if kind != CHECKED_IN:
            if kind == CHECKED_OUT:
                raise DeskRejected("person", N_("'%(person)s' is checked out already"), person=person_name)
            raise DeskRejected("person", N_("'%(person)s' is not checked in"), status=404, person=person_name)
    elif etype == "workorder":
        if event.get("id") in decoder.workorders.index:
            raise DeskRejected("id", N_("work order '%(id)s' exists already"), id=event.get("id"))
    if etype in ("intake", "workorder"):
        bank = event.get("bank")
        if bank not in engine.site.bank_index:
            raise DeskRejected("bank", N_("unknown locker bank '%(bank)s' (this site has: %(banks)s)"), status=422,
                               bank=bank, banks=", ".join(engine.site.bank_index) or "—")
        slots = engine.site.bank_slots[engine.site.bank_index[bank]]
        slot = event.get("slot")
        if not isinstance(slot, int) or not 1 <= slot <= slots:
            raise DeskRejected("slot", N_("bank '%(bank)s' has slots 1..%(slots)s, got %(slot)s"), status=422,
                               bank=bank, slots=slots, slot=slot)
