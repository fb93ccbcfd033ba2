"""What the consoles show: everyone in the area and the property ledger, projected from exactly
what the engine task journals (events and engine outputs), in journal order.

The view lives inside `ZoneStatus` (gateway/zone_status.py), so it is fed on every commit, rebuilt
by the replay on restart and saved with the engine snapshots. It is a display: the engine stays
the authority for alerts; the view only mirrors its outputs and the ledger moves the engine makes
at each slot close (DESIGN §6.2 "Lockers", "Belongings"). The desk API also asks it what the
engine does not keep in a form the desk can use: whether an intake window or a work order covers
a slot now (unlock), whether a subject is out on a temporary exit, vulnerable, or decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from core_ext import vocab

HISTORY_MAX = 40  # per slot, newest last
H = 3_600_000

PERSON_EVENTS = frozenset({"enroll", "checkin", "extend", "checkout", "leave", "return", "decision", "welfare"})
PROPERTY_EVENTS = frozenset({"intake", "workorder", "locker", "unlock", "seizure"})
GUARDIAN = "guardian"
# Rules only ever raised (DESIGN §6.2 "Raised and cleared"; the second layer adds its own).
ONE_SHOT_RULES = frozenset(
    getattr(
        vocab,
        "ONE_SHOT_RULES",
        (
            "flow_violation",
            "incomplete_exit",
            "locker_unauthorized_open",
            "item_mismatch",
            "door_forced",
            "belongings_not_returned",
            "vulnerable_night_release",
            "workorder_unapproved",
        ),
    )
)


@dataclass(frozen=True)
class SiteFacts:
    """The few site settings the view needs (from the site config, second-layer keys optional)."""

    timezone: str
    warn_before_ms: int
    intake_window_ms: int
    workorder_window_ms: int
    transfer_limit_ms: int
    meal_interval_ms: int
    intake_within_ms: int
    requires_approval: bool
    banks: dict[str, int]  # bank -> slots
    bank_zone_type: dict[str, str | None]

    @classmethod
    def of(cls, site: Any) -> SiteFacts:
        rules = site.rules
        zone_type = {z.id: z.type for z in site.zones}
        return cls(
            timezone=site.site.timezone,
            warn_before_ms=round(rules.warn_before_min * 60_000),
            intake_window_ms=round(rules.intake_window_s * 1000),
            workorder_window_ms=round(rules.workorder_window_s * 1000),
            # Second-layer keys (DESIGN §6.2), with their documented defaults on configs without them.
            transfer_limit_ms=round(getattr(rules, "transfer_limit_h", 24) * H),
            meal_interval_ms=round(getattr(rules, "meal_interval_h", 0) * H),
            intake_within_ms=round(getattr(rules, "intake_within_h", 24) * H),
            requires_approval=bool(getattr(rules, "workorder_requires_approval", False)),
            banks={b.id: b.slots for b in site.lockers},
            bank_zone_type={b.id: zone_type.get(b.zone) if b.zone else None for b in site.lockers},
        )


def is_minor(person: dict[str, Any]) -> bool:
    age = person.get("age")
    return bool(person.get("minor")) or (isinstance(age, int) and age < vocab_minor_age())


def vocab_minor_age() -> int:
    return int(getattr(vocab, "MINOR_UNDER_AGE", 18))


def is_vulnerable(person: dict[str, Any]) -> bool:
    """DESIGN §3 "Vulnerable persons": under continued questioning, under 16, 70 or older, pregnant."""
    if person.get("basis") != "continued_questioning":
        return False
    age = person.get("age")
    young, old = getattr(vocab, "VULNERABLE_UNDER_AGE", 16), getattr(vocab, "VULNERABLE_FROM_AGE", 70)
    return bool(person.get("pregnant")) or (isinstance(age, int) and (age < young or age >= old))


def order_authorised(order: dict[str, Any], requires_approval: bool) -> bool:
    """DESIGN §6.2 "Approval": on a site that requires it, an order approved by nobody or by the
    person who requested or placed it authorises nothing."""
    if not requires_approval:
        return True
    approver = order.get("approved_by")
    return bool(approver) and approver != order.get("requested_by") and approver != order.get("by")


class DeskView:
    def __init__(self, facts: SiteFacts) -> None:
        self.facts = facts
        self.subjects: dict[str, dict[str, Any]] = {}  # checked in now
        self.people: dict[str, dict[str, Any]] = {}  # enrolled staff and guardians
        self.where: dict[str, str] = {}  # anyone located -> zone
        self.slots: dict[str, dict[str, Any]] = {
            f"{bank}/{n}": {
                "bank": bank,
                "slot": n,
                "state": "closed",
                "items": [],
                "sensed": None,
                "opened_ts": None,
                "intake_until": None,
                "history": [],
            }
            for bank, count in facts.banks.items()
            for n in range(1, count + 1)
        }
        self.items: dict[str, dict[str, Any]] = {}
        self.seizures: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}  # (rule, subject) -> raised alert
        self.version = 0

    # ---- feeding ---------------------------------------------------------------------------------

    def apply(self, rec: dict[str, Any]) -> None:
        etype = rec.get("type")
        if etype is not None:  # an event (welfare and decision events have a `kind` field of their own)
            handler = self._EVENTS.get(etype)
            if handler is not None:
                handler(self, rec)
                self.version += 1
            return
        kind = rec.get("kind")
        if kind == "location":
            self._location(rec)
        elif kind == "custody":
            self._custody(rec)
        elif kind == "alert":
            self._alert(rec)
        else:
            return
        self.version += 1

    def _enroll(self, ev: dict[str, Any]) -> None:
        self.people[ev["person"]] = {
            "person": ev["person"],
            "role": ev["role"],
            "sex": ev["sex"],
            "tag": ev["tag"],
            "for": ev.get("for"),
        }

    def _checkin(self, ev: dict[str, Any]) -> None:
        fields = (
            "person",
            "name",
            "id_card",
            "role",
            "sex",
            "tag",
            "basis",
            "case",
            "age",
            "pregnant",
            "guardian",
            "minor",
            "extended",
        )
        subject = {k: ev.get(k) for k in fields}
        subject.update(
            checkin_ts=ev["ts"],
            arrived_ts=ev.get("arrived_ts", ev["ts"]),
            deadline_ts=None,
            limit_ms=None,
            zone=None,
            out=None,
            decision=None,
            welfare=[],
            last_meal_ts=None,
            exits=[],
        )
        self.subjects[ev["person"]] = subject

    def _checkout(self, ev: dict[str, Any]) -> None:
        self._gone(ev["person"])

    def _gone(self, person: str) -> None:
        self.subjects.pop(person, None)
        self.where.pop(person, None)
        for key in [k for k in self.alerts if k[1] == person]:
            del self.alerts[key]

    def _leave(self, ev: dict[str, Any]) -> None:
        subject = self.subjects.get(ev["person"])
        if subject is not None:
            subject["out"] = {
                "leave_ts": ev["ts"],
                "reason": ev.get("reason"),
                "until_ts": ev.get("until_ts"),
                "approved_by": ev.get("approved_by"),
            }
            subject["zone"] = None
            self.where.pop(ev["person"], None)

    def _return(self, ev: dict[str, Any]) -> None:
        subject = self.subjects.get(ev["person"])
        if subject is not None and subject["out"] is not None:
            subject["exits"].append({**subject["out"], "return_ts": ev["ts"]})
            subject["out"] = None

    def _decision(self, ev: dict[str, Any]) -> None:
        subject = self.subjects.get(ev["person"])
        if subject is not None and subject["decision"] is None:
            subject["decision"] = {
                "kind": ev.get("kind"),
                "ts": ev["ts"],
                "transfer_by_ts": ev["ts"] + self.facts.transfer_limit_ms,
            }

    def _welfare(self, ev: dict[str, Any]) -> None:
        subject = self.subjects.get(ev["person"])
        if subject is not None:
            subject["welfare"].append({"ts": ev["ts"], "kind": ev.get("kind")})
            if ev.get("kind") == "meal":
                subject["last_meal_ts"] = ev["ts"]

    def _location(self, rec: dict[str, Any]) -> None:
        person, zone = rec["person"], rec["zone"]
        if zone is None:
            self.where.pop(person, None)
        else:
            self.where[person] = zone
        subject = self.subjects.get(person)
        if subject is not None:
            subject["zone"] = zone

    def _custody(self, rec: dict[str, Any]) -> None:
        subject = self.subjects.get(rec["person"])
        if rec["state"] == "out":
            self._gone(rec["person"])
        elif subject is not None:
            subject.update(arrived_ts=rec["arrived_ts"], deadline_ts=rec["deadline_ts"], limit_ms=rec["limit_ms"])
            if rec["state"] == "extended":
                subject["extended"] = True

    def _alert(self, rec: dict[str, Any]) -> None:
        key = (rec["rule"], rec["subject"])
        if rec["state"] == "raised":
            self.alerts[key] = {
                "rule": rec["rule"],
                "subject": rec["subject"],
                "ts": rec["ts"],
                "zone": rec.get("zone"),
                "severity": rec.get("severity"),
                "detail": rec.get("detail"),
            }
            one_shot = rec["rule"] in ONE_SHOT_RULES
            slot = self.slots.get(rec["subject"])
            if slot is not None:
                self._history(slot, {"ts": rec["ts"], "event": "alert", "rule": rec["rule"]})
            if one_shot and slot is None and rec["subject"] not in self.subjects:
                # e.g. belongings_not_returned at check-out: nothing left to show it on.
                self.alerts.pop(key, None)
        else:
            self.alerts.pop(key, None)

    # ---- property --------------------------------------------------------------------------------

    def _history(self, slot: dict[str, Any], entry: dict[str, Any]) -> None:
        history = slot["history"]
        history.append(entry)
        if len(history) > HISTORY_MAX:
            del history[: len(history) - HISTORY_MAX]

    def _slot(self, ev: dict[str, Any]) -> dict[str, Any] | None:
        return self.slots.get(f"{ev.get('bank')}/{ev.get('slot')}")

    def _seizure(self, ev: dict[str, Any]) -> None:
        item = ev["item"]
        if item in self.items and self.items[item]["state"] != "gone":
            return  # taken in already: changes nothing (DESIGN §6.2 "Seizure")
        seized = ev.get("seized_ts", ev["ts"])
        self.seizures[item] = {
            "item": item,
            "case": ev.get("case"),
            "by": ev.get("by"),
            "seized_ts": seized,
            "deadline_ts": seized + self.facts.intake_within_ms,
        }

    def _intake(self, ev: dict[str, Any]) -> None:
        slot = self._slot(ev)
        if slot is None:
            return
        item = ev["item"]
        old = self.items.get(item)
        if old is not None and old.get("slot_key") in self.slots and item in self.slots[old["slot_key"]]["items"]:
            self.slots[old["slot_key"]]["items"].remove(item)
        key = f"{ev['bank']}/{ev['slot']}"
        self.items[item] = {
            "item": item,
            "case": ev.get("case"),
            "owner": ev.get("owner"),
            "slot_key": key,
            "state": "in",
            "due_ts": None,
            "intake_ts": ev["ts"],
            "by": ev.get("by"),
            "seized_ts": ev.get("seized_ts"),
        }
        if item not in slot["items"]:
            slot["items"].append(item)
        slot["intake_until"] = ev["ts"] + self.facts.intake_window_ms
        self.seizures.pop(item, None)
        self._history(slot, {"ts": ev["ts"], "event": "intake", "item": item, "by": ev.get("by")})

    def _workorder(self, ev: dict[str, Any]) -> None:
        slot = self._slot(ev)
        if slot is None:
            return
        valid_from = ev.get("valid_from", ev["ts"])
        order = {
            k: ev.get(k)
            for k in ("id", "item", "action", "bank", "slot", "due_ts", "by", "requested_by", "approved_by")
        }
        order.update(
            ts=ev["ts"],
            valid_from=valid_from,
            valid_until=ev.get("valid_until", valid_from + self.facts.workorder_window_ms),
            authorised=order_authorised(ev, self.facts.requires_approval),
            done_ts=None,
        )
        self.orders[ev["id"]] = order
        self._history(
            slot,
            {
                "ts": ev["ts"],
                "event": "workorder",
                "workorder": ev["id"],
                "action": ev.get("action"),
                "item": ev.get("item"),
                "by": ev.get("by"),
            },
        )

    def _unlock(self, ev: dict[str, Any]) -> None:
        slot = self._slot(ev)
        if slot is not None:
            self._history(slot, {"ts": ev["ts"], "event": "unlock", "by": ev.get("by")})
            # One-shot alerts (an unauthorised opening, a mismatch) are never cleared by the engine:
            # the grid shows them until a custodian next opens the slot with authority.
            key = f"{ev['bank']}/{ev['slot']}"
            for found in [k for k in self.alerts if k[1] == key and k[0] in ONE_SHOT_RULES]:
                del self.alerts[found]

    def _locker(self, ev: dict[str, Any]) -> None:
        slot = self._slot(ev)
        if slot is None:
            return
        if ev.get("state") == "open":
            if slot["state"] != "open":
                slot["state"], slot["opened_ts"] = "open", ev["ts"]
                self._history(slot, {"ts": ev["ts"], "event": "open"})
            return
        if slot["state"] != "open":
            return  # a close of a slot that is not open changes nothing (DESIGN §6.2)
        opened = slot["opened_ts"]
        slot["state"], slot["opened_ts"] = "closed", None
        sensed = ev.get("items")
        self._history(slot, {"ts": ev["ts"], "event": "closed", "items": sensed})
        if sensed is None:
            return
        slot["sensed"] = list(sensed)
        key = f"{slot['bank']}/{slot['slot']}"
        for order in self.orders.values():
            if (
                f"{order['bank']}/{order['slot']}" != key
                or not order["authorised"]
                or not order["valid_from"] <= opened <= order["valid_until"]
            ):
                continue
            item, present = order["item"], order["item"] in sensed
            record = self.items.get(item)
            if order["action"] == "withdraw" and not present and record is not None and record["state"] == "in":
                record.update(state="out", due_ts=order.get("due_ts"))
                if item in slot["items"]:
                    slot["items"].remove(item)
                order["done_ts"] = ev["ts"]
            elif order["action"] == "return" and present:
                if record is None:
                    record = self.items[item] = {
                        "item": item,
                        "case": None,
                        "owner": None,
                        "slot_key": key,
                        "intake_ts": None,
                        "by": None,
                        "seized_ts": None,
                    }
                record.update(state="in", due_ts=None, slot_key=key)
                if item not in slot["items"]:
                    slot["items"].append(item)
                order["done_ts"] = ev["ts"]
            elif order["action"] in ("dispose", "release") and not present and record is not None:
                record.update(state="gone", due_ts=None)
                if item in slot["items"]:
                    slot["items"].remove(item)
                order["done_ts"] = ev["ts"]

    _EVENTS: ClassVar[dict[str, Callable[[DeskView, dict[str, Any]], None]]] = {
        "enroll": _enroll,
        "checkin": _checkin,
        "checkout": _checkout,
        "leave": _leave,
        "return": _return,
        "decision": _decision,
        "welfare": _welfare,
        "seizure": _seizure,
        "intake": _intake,
        "workorder": _workorder,
        "unlock": _unlock,
        "locker": _locker,
    }

    EVENTS: ClassVar[frozenset[str]] = frozenset(_EVENTS)  # the event types the view follows

    # ---- questions the desk API asks -------------------------------------------------------------

    def coverage(self, bank: str, slot: int, now: int) -> dict[str, Any] | None:
        """What authorises opening `bank/slot` at `now`: an intake window or an active work order."""
        entry = self.slots.get(f"{bank}/{slot}")
        if entry is None:
            return None
        if entry["intake_until"] is not None and now <= entry["intake_until"]:
            return {"by": "intake", "until_ts": entry["intake_until"]}
        for order in self.orders.values():
            # As the engine judges an opening: within the order's window, done or not.
            if (
                order["bank"] == bank
                and order["slot"] == slot
                and order["authorised"]
                and order["valid_from"] <= now <= order["valid_until"]
            ):
                return {"by": "workorder", "workorder": order["id"], "until_ts": order["valid_until"]}
        return None

    def empty_slot(self, bank: str) -> int | None:
        for n in range(1, self.facts.banks.get(bank, 0) + 1):
            entry = self.slots[f"{bank}/{n}"]
            if (
                not entry["items"]
                and entry["state"] == "closed"
                and not any(
                    o["bank"] == bank and o["slot"] == n and o["done_ts"] is None
                    for o in self.orders.values()
                    if o["action"] == "return"
                )
            ):
                return n
        return None

    def banks_for(self, belongings: bool) -> list[str]:
        """The banks an item goes to: belongings to banks in a `belongings` zone, case property elsewhere."""
        wanted = [b for b, t in self.facts.bank_zone_type.items() if (t == "belongings") == belongings]
        return wanted or list(self.facts.banks)

    # ---- what the consoles read ------------------------------------------------------------------

    def guardians_of(self, person: str) -> set[str]:
        named = self.subjects.get(person, {}).get("guardian")
        found = {p for p, info in self.people.items() if info["role"] == GUARDIAN and info.get("for") == person}
        return found | ({named} if named else set())

    def persons(self) -> list[dict[str, Any]]:
        by_zone: dict[str, list[str]] = {}
        for person, zone in self.where.items():
            by_zone.setdefault(zone, []).append(person)
        out = []
        for name, subject in sorted(self.subjects.items(), key=lambda kv: kv[1]["checkin_ts"]):
            here: str | None = subject["zone"] if subject["out"] is None else None
            companions = []
            for other in sorted(by_zone.get(here, ())) if here is not None else ():
                if other == name:
                    continue
                role = self.people.get(other, {}).get("role") or self.subjects.get(other, {}).get("role")
                companions.append({"person": other, "role": role})
            guardians = self.guardians_of(name)
            alerts = sorted((a for (rule, subj), a in self.alerts.items() if subj == name), key=lambda a: a["ts"])
            warn_ts = subject["deadline_ts"] - self.facts.warn_before_ms if subject["deadline_ts"] is not None else None
            out.append(
                {
                    **{
                        k: subject[k]
                        for k in (
                            "person",
                            "name",
                            "id_card",
                            "role",
                            "sex",
                            "tag",
                            "basis",
                            "case",
                            "age",
                            "pregnant",
                            "guardian",
                            "checkin_ts",
                            "arrived_ts",
                            "deadline_ts",
                            "limit_ms",
                            "extended",
                            "out",
                            "decision",
                            "last_meal_ts",
                            "welfare",
                            "exits",
                        )
                    },
                    "zone": here,
                    "warn_ts": warn_ts,
                    "companions": companions,
                    "alerts": alerts,
                    "meal_due_ts": (
                        (subject["last_meal_ts"] or subject["checkin_ts"]) + self.facts.meal_interval_ms
                        if self.facts.meal_interval_ms
                        else None
                    ),
                    "flags": {
                        "minor": is_minor(subject),
                        "vulnerable": is_vulnerable(subject),
                        "guardian_present": here is not None and any(self.where.get(g) == here for g in guardians),
                        "out": subject["out"] is not None,
                        "decided": subject["decision"] is not None,
                    },
                }
            )
        return out

    def ledger(self, now: int) -> dict[str, Any]:
        banks = []
        for bank, count in self.facts.banks.items():
            slots = []
            for n in range(1, count + 1):
                entry = self.slots[f"{bank}/{n}"]
                key = f"{bank}/{n}"
                alerts = [a for (rule, subj), a in self.alerts.items() if subj == key]
                cover = self.coverage(bank, n, now)
                slots.append(
                    {
                        "slot": n,
                        "state": entry["state"],
                        "items": [self.items[i] for i in entry["items"] if i in self.items],
                        "sensed": entry["sensed"],
                        "alerts": alerts,
                        "history": entry["history"],
                        "coverage": cover,
                        "status": "alert"
                        if alerts
                        else "open"
                        if entry["state"] == "open"
                        else "occupied"
                        if entry["items"]
                        else "empty",
                    }
                )
            banks.append({"id": bank, "slots": slots, "zone_type": self.facts.bank_zone_type.get(bank)})
        out_items = [i for i in self.items.values() if i["state"] == "out"]
        overdue = [
            {**i, "alert": a} for i in out_items if (a := self.alerts.get(("item_overdue", i["item"]))) is not None
        ]
        return {
            "banks": banks,
            "out": sorted(out_items, key=lambda i: i.get("due_ts") or 0),
            "overdue": overdue,
            "seizures": sorted(
                ({**s, "overdue": ("intake_overdue", s["item"]) in self.alerts} for s in self.seizures.values()),
                key=lambda s: s["deadline_ts"],
            ),
            "orders": sorted(self.orders.values(), key=lambda o: o["ts"], reverse=True)[:100],
        }
