"""Checks a desk request against the engine's current state before the engine sees it.

The engine's decoder would reject these too, but only after interning the new names, which
would make a live run differ (in internal numbering) from a replay of the journal, where the
rejected request never appears. Checking first keeps a refused request a true no-op. Each
problem names the request field it is about.
"""

from __future__ import annotations

from typing import Any

from core_ext import vocab
from core_ext.api import CustodyEngine
from core_ext.i18n import N_, gettext
from gateway.desk.view import DeskView, is_vulnerable

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


# Second-layer refusals (DESIGN §3, §6.2 "Second layer"), each citing its source.
VULNERABLE_NO_EXTENSION = N_(
    "'%(person)s' is a vulnerable subject (under 16, 70 or older, pregnant or nursing) under "
    "continued questioning: the limit has no extension (Continued Questioning Provisions art. 10)"
)
TIER_TOP = N_(
    "'%(person)s' is already at the top tier (%(limit)s h) of %(basis)s; there is no further extension "
    "(Continued Questioning Provisions art. 11, 17)"
)
TIER_SKIP = N_(
    "%(limit_h)s h skips the %(next)s h tier of %(basis)s: tiers are climbed one at a time "
    "(Continued Questioning Provisions art. 11, 17)"
)
TIER_NOT_ABOVE = N_("%(limit_h)s h is not above the %(current)s h limit in force: an extension never shortens")
ALREADY_OUT = N_("'%(person)s' is already out on a temporary exit (Rules on the Use of Handling Areas art. 4-5)")
NOT_OUT = N_(
    "'%(person)s' is not out on a temporary exit: a return needs an approved leave first "
    "(Rules on the Use of Handling Areas art. 4-5)"
)
UNTIL_PAST = N_("the approved return time must be later than now (Rules on the Use of Handling Areas art. 4-5)")
KEPT_NEEDS_REASON = N_(
    "belongings kept need a reason; otherwise they are returned at the end (Continued Questioning Provisions art. 32)"
)
OWN_GUARDIAN = N_("'%(person)s' cannot be their own guardian (Criminal Procedure Law art. 281)")
SELF_APPROVAL = N_(
    "the approver must be someone other than the requester '%(requester)s' (handling and custody separated)"
)
SEIZED_FUTURE = N_("the seizure time %(seized)s is after now %(now)s")
SLOT_NOT_COVERED = N_(
    "slot %(slot)s is not covered by an intake window or an approved work order valid now: "
    "it opens only when authorised (handling and custody separated)"
)


def _second_layer(engine: CustodyEngine, view: DeskView | None, event: dict[str, Any]) -> None:
    """Refusals the desk can say in the caller's language with the rule's source; the engine's
    decoder checks the same (DESIGN §6.2) and stays the last word."""
    if view is None:
        return
    etype = event["type"]
    person = event.get("person")
    subject = view.subjects.get(person) if isinstance(person, str) else None
    if etype == "checkin":
        if event.get("guardian") and event.get("guardian") == person:
            raise DeskRejected("guardian", OWN_GUARDIAN, status=422, person=person)
        if event.get("extended") and is_vulnerable(event):
            raise DeskRejected("extended", VULNERABLE_NO_EXTENSION, status=422, person=person)
    elif etype == "enroll" and event.get("for") and event.get("for") == person:
        raise DeskRejected("for", OWN_GUARDIAN, status=422, person=person)
    if subject is None:
        return
    if etype == "extend":
        if is_vulnerable(subject):
            raise DeskRejected("person", VULNERABLE_NO_EXTENSION, status=422, person=person)
        _check_tier(engine, subject, event)
    elif etype == "leave":
        if subject["out"] is not None:
            raise DeskRejected("person", ALREADY_OUT, status=422, person=person)
        if isinstance(event.get("until_ts"), int) and event["until_ts"] <= event["ts"]:
            raise DeskRejected("until_ts", UNTIL_PAST, status=422)
    elif etype == "return":
        if subject["out"] is None:
            raise DeskRejected("person", NOT_OUT, status=422, person=person)
    elif etype == "checkout" and event.get("belongings") == "kept" and not event.get("belongings_reason"):
        raise DeskRejected("belongings_reason", KEPT_NEEDS_REASON, status=422)


def _check_tier(engine: CustodyEngine, subject: dict[str, Any], event: dict[str, Any]) -> None:
    basis = vocab.BASIS_CODE[subject["basis"]]
    stepwise = getattr(engine.site, "basis_stepwise", None)
    current = subject.get("limit_ms")
    if not stepwise or not stepwise[basis] or current is None:
        return
    tiers = engine.site.basis_tiers_ms[basis]
    above = [t for t in tiers if t > current]
    if not above:
        raise DeskRejected(
            "person",
            TIER_TOP,
            status=422,
            person=subject["person"],
            limit=f"{current / 3_600_000:g}",
            basis=subject["basis"],
        )
    limit_h = event.get("limit_h")
    if isinstance(limit_h, int | float) and round(limit_h * 3_600_000) in tiers:
        limit = round(limit_h * 3_600_000)
        if limit > above[0]:
            raise DeskRejected(
                "limit_h",
                TIER_SKIP,
                status=422,
                limit_h=f"{limit_h:g}",
                next=f"{above[0] / 3_600_000:g}",
                basis=subject["basis"],
            )
        if limit <= current:
            raise DeskRejected(
                "limit_h", TIER_NOT_ABOVE, status=422, limit_h=f"{limit_h:g}", current=f"{current / 3_600_000:g}"
            )


def _property(engine: CustodyEngine, view: DeskView | None, event: dict[str, Any]) -> None:
    etype = event["type"]
    if etype == "workorder":
        requester = event.get("requested_by")
        approver = event.get("approved_by")
        if approver and approver in (requester, event.get("by")):
            raise DeskRejected("approved_by", SELF_APPROVAL, status=422, requester=approver)
    elif etype in ("seizure", "intake"):
        seized = event.get("seized_ts")
        if isinstance(seized, int) and seized > event["ts"]:
            raise DeskRejected("seized_ts", SEIZED_FUTURE, status=422, seized=seized, now=event["ts"])
    elif etype == "unlock" and view is not None and view.coverage(event["bank"], event["slot"], event["ts"]) is None:
        raise DeskRejected("slot", SLOT_NOT_COVERED, slot=f"{event['bank']}/{event['slot']}")


def precheck(engine: CustodyEngine, event: dict[str, Any], view: DeskView | None = None) -> None:
    _precheck_first_layer(engine, event)
    _second_layer(engine, view, event)
    _property(engine, view, event)


def _precheck_first_layer(engine: CustodyEngine, event: dict[str, Any]) -> None:
    decoder = engine.decoder
    etype = event["type"]
    person_name = event.get("person")
    person = decoder.persons.index.get(person_name) if isinstance(person_name, str) else None
    kind = decoder.person_kind.get(person) if person is not None else None
    tag = event.get("tag")
    if etype in ("enroll", "checkin"):
        owner = decoder.tag_owner.get(tag) if isinstance(tag, str) else None
        if owner is not None and owner != person:
            raise DeskRejected(
                "tag", N_("tag '%(tag)s' is already worn by '%(owner)s'"), tag=tag, owner=decoder.persons.names[owner]
            )
    if etype == "checkin":
        arrived = event.get("arrived_ts")
        if isinstance(arrived, int) and arrived > event["ts"]:
            raise DeskRejected(
                "arrived_ts",
                N_("arrival %(arrived)s is after the check-in time %(checkin)s"),
                status=422,
                arrived=arrived,
                checkin=event["ts"],
            )
        if kind == CHECKED_IN:
            raise DeskRejected("person", N_("'%(person)s' is already checked in"), person=person_name)
        if kind == STAFF:
            raise DeskRejected("person", N_("'%(person)s' is enrolled staff, not a subject"), person=person_name)
    elif etype == "enroll":
        if kind == CHECKED_IN:
            raise DeskRejected("person", N_("'%(person)s' is checked in as a subject"), person=person_name)
    elif etype in ("extend", "checkout", "leave", "return", "decision", "welfare"):
        if kind != CHECKED_IN:
            if kind == CHECKED_OUT:
                raise DeskRejected("person", N_("'%(person)s' is checked out already"), person=person_name)
            raise DeskRejected("person", N_("'%(person)s' is not checked in"), status=404, person=person_name)
    elif etype == "workorder":
        if event.get("id") in decoder.workorders.index:
            raise DeskRejected("id", N_("work order '%(id)s' exists already"), id=event.get("id"))
    if etype in ("intake", "workorder", "unlock"):
        bank = event.get("bank")
        if bank not in engine.site.bank_index:
            raise DeskRejected(
                "bank",
                N_("unknown locker bank '%(bank)s' (this site has: %(banks)s)"),
                status=422,
                bank=bank,
                banks=", ".join(engine.site.bank_index) or "—",
            )
        slots = engine.site.bank_slots[engine.site.bank_index[bank]]
        slot = event.get("slot")
        if not isinstance(slot, int) or not 1 <= slot <= slots:
            raise DeskRejected(
                "slot",
                N_("bank '%(bank)s' has slots 1..%(slots)s, got %(slot)s"),
                status=422,
                bank=bank,
                slots=slots,
                slot=slot,
            )
