"""Engine output tuples → the JSON records of DESIGN §6.3 (and the gateway's extra kinds).

Both engines emit the same integer tuples; formatting them in one place is what makes their
JSON Lines byte-identical. Record layouts:

  alert       {"kind","ts","rule","state","subject","zone","severity","detail"}
  trail       {"kind","subject","checkin_ts","checkout_ts","stays","steps_missing","closed", ...extras}
  item_trail  {"kind","item","events","closed"}
  location    {"kind","ts","person","zone","prev"}            (gateway/server only, not in replay)
  custody     {"kind","ts","person","state",...}              (gateway/server only, not in replay)
"""
from __future__ import annotations

from typing import Any

from core_ext import vocab
from core_ext.codes import (
    CLEARED,
    FLAG_MINOR,
    FLAG_VULNERABLE,
    GUARDIAN_SHIFT,
    IT_DISPOSED,
    IT_INTAKE,
    IT_INTAKE_OVERDUE,
    IT_INTAKE_OVERDUE_CLEARED,
    IT_MISSING,
    IT_OPEN,
    IT_OVERDUE,
    IT_OVERDUE_CLEARED,
    IT_RELEASED,
    IT_RETURNED,
    IT_SEIZURE,
    IT_UNEXPECTED,
    IT_UNLOCK,
    IT_WITHDRAWN,
    IT_WORKORDER,
    OUT_ALERT,
    OUT_CUSTODY,
    OUT_ITEM_TRAIL,
    OUT_LOCATION,
    OUT_TRAIL,
    R_BELONGINGS,
    R_COSUS,
    R_DOOR_HELD,
    R_EXCEEDED,
    R_FLOW,
    R_INCOMPLETE,
    R_INSUFF,
    R_INTAKE_OVERDUE,
    R_LOST,
    R_MEAL,
    R_MISMATCH,
    R_MIXED,
    R_NIGHT,
    R_OVERDUE,
    R_RECGAP,
    R_SLOT_OPEN,
    R_TEMP_EXIT,
    R_TRANSFER,
    R_UNAPPROVED,
    R_WARN,
)
from core_ext.events import EventDecoder

PERSON_RULES = frozenset(vocab.RULE_CODE[r] for r in vocab.PERSON_SUBJECT_RULES)
SLOT_RULES = frozenset(vocab.RULE_CODE[r] for r in vocab.SLOT_SUBJECT_RULES)
DOOR_RULES = frozenset(vocab.RULE_CODE[r] for r in vocab.DOOR_SUBJECT_RULES)
# custody record states, by CUSTODY_* code
CUSTODY_STATES = vocab.CUSTODY_STATES  # indexed by the engine's custody state codes
REPLAY_KINDS = frozenset({"alert", "trail", "item_trail"})


class OutputFormatter:
    def __init__(self, decoder: EventDecoder):
        self.decoder = decoder
        self.site = decoder.site
        self.persons = decoder.persons.names
        self.items = decoder.items.names
        self.cases = decoder.cases.names
        self.workorders = decoder.workorders.names
        self.labels = decoder.labels.names

    def _zone(self, z: int) -> str | None:
        return None if z < 0 else self.site.zone_ids[z]

    def _ts(self, t: int) -> int | None:
        return None if t < 0 else t

    def _person(self, p: int) -> str | None:
        return None if p < 0 else self.persons[p]

    def _label(self, i: int) -> str | None:
        return None if i < 0 else self.labels[i]

    def _mask_types(self, mask: int) -> list[str]:
        return [t for t in self.site.config.required_steps if mask >> vocab.ZONE_TYPE_CODE[t] & 1]

    def format(self, out: tuple) -> dict[str, Any]:
        kind = out[0]
        if kind == OUT_ALERT:
            return self._alert(out)
        if kind == OUT_LOCATION:
            return {"kind": "location", "ts": out[1], "person": self.persons[out[2]],
                    "zone": self._zone(out[3]), "prev": self._zone(out[4])}
        if kind == OUT_CUSTODY:
            _, ts, pid, state, role, sex, case, basis, arrived, limit, flags = out
            return {"kind": "custody", "ts": ts, "person": self.persons[pid], "state": CUSTODY_STATES[state],
                    "role": vocab.ROLES[role], "sex": vocab.SEXES[sex], "case": self.cases[case],
                    "basis": vocab.BASES[basis], "arrived_ts": arrived, "limit_ms": limit,
                    "deadline_ts": arrived + limit, "minor": bool(flags & FLAG_MINOR),
                    "vulnerable": bool(flags & FLAG_VULNERABLE),
                    "guardian": self._person((flags >> GUARDIAN_SHIFT) - 1)}
        if kind == OUT_TRAIL:
            return self._trail(out)
        if kind == OUT_ITEM_TRAIL:
            _, ts, iid, events, closed = out
            return {"kind": "item_trail", "item": self.items[iid],
                    "events": [self._item_event(e) for e in events], "closed": closed}
        raise ValueError(f"unknown engine output kind {kind}")

    def format_all(self, outs: list[tuple]) -> list[dict[str, Any]]:
        return [self.format(o) for o in outs]

    def _subject(self, rule: int, subject: int) -> str:
        if rule in PERSON_RULES:
            return self.persons[subject]
        if rule in SLOT_RULES:
            return self.site.slot_name(subject)
        if rule in DOOR_RULES:
            return self.site.door_ids[subject]
        return self.items[subject]  # item_overdue, intake_overdue

    def _alert(self, out: tuple) -> dict[str, Any]:
        _, ts, rule, state, subject, zone, n1, n2, l1, l2 = out
        rule_name = vocab.RULES[rule]
        if state == CLEARED:
            detail: dict[str, Any] = {"raised_ts": self._ts(n1)}
        elif rule in (R_WARN, R_EXCEEDED):
            detail = {"deadline_ts": n1, "limit_ms": n2}
        elif rule == R_INSUFF:
            detail = {"officers": n1, "min_officers": n2}
        elif rule == R_COSUS:
            detail = {"case": self.cases[n1], "with": [self.persons[s] for s in l1]}
        elif rule == R_RECGAP:
            detail = {"cameras": [self.site.camera_ids[c] for c in self.site.zone_cameras[zone]]}
        elif rule == R_LOST:
            detail = {"last_seen_ts": self._ts(n1)}
        elif rule == R_FLOW:
            detail = {"from": self._zone(n1), "to": self._zone(n2)}
        elif rule == R_INCOMPLETE:
            detail = {"missing": self._mask_types(n1)}
        elif rule == R_MISMATCH:
            detail = {"missing": sorted(self.items[i] for i in l1), "unexpected": sorted(self.items[i] for i in l2)}
        elif rule == R_OVERDUE:
            detail = {"due_ts": n1, "slot": self.site.slot_name(n2) if n2 >= 0 else None}
        elif rule in (R_SLOT_OPEN, R_DOOR_HELD):
            detail = {"opened_ts": n1}
        elif rule == R_MIXED:
            detail = {"with": [self.persons[s] for s in l1]}
        elif rule == R_TEMP_EXIT:
            detail = {"until_ts": n1, "reason": vocab.LEAVE_REASONS[n2]}
        elif rule == R_TRANSFER:
            detail = {"decision_ts": n1, "decision": vocab.DECISION_KINDS[n2],
                      "deadline_ts": n1 + self.site.transfer_limit_ms}
        elif rule == R_MEAL:
            detail = {"since_ts": n1, "due_ts": n2}
        elif rule == R_BELONGINGS:
            detail = {"items": sorted(self.items[i] for i in l1)}
        elif rule == R_NIGHT:
            detail = {"outcome": None if n1 < 0 else vocab.OUTCOMES[n1], "timezone": self.site.timezone}
        elif rule == R_INTAKE_OVERDUE:
            detail = {"seized_ts": n1, "due_ts": n2}
        elif rule == R_UNAPPROVED:
            detail = {"workorder": self.workorders[n1], "requested_by": self._person(l1[0]),
                      "approved_by": self._person(l1[1])}
        else:
            detail = {}
        return {"kind": "alert", "ts": ts, "rule": rule_name, "state": "raised" if state else "cleared",
                "subject": self._subject(rule, subject), "zone": self._zone(zone),
                "severity": vocab.SEVERITY[rule_name], "detail": detail}

    def _trail(self, out: tuple) -> dict[str, Any]:
        (_, ts, pid, checkin, checkout, stays, missing, closed, ever_lost, gaps, alerts, case, basis,
         arrived, limit, role, sex, second) = out
        exits, welfare, outcome, released_to, decisions, belongings, reason, minor, vulnerable, guardian = second
        return {
            "kind": "trail", "subject": self.persons[pid], "checkin_ts": checkin,
            "checkout_ts": self._ts(checkout),
            "stays": [{"zone": self.site.zone_ids[z], "enter_ts": enter, "leave_ts": self._ts(leave),
                       "officers": sorted(self.persons[o] for o in officers), "unrecorded_ms": unrec}
                      for z, enter, leave, officers, unrec in stays],
            "steps_missing": self._mask_types(missing),
            "closed": closed,
            "role": vocab.ROLES[role], "sex": vocab.SEXES[sex], "case": self.cases[case],
            "basis": vocab.BASES[basis], "arrived_ts": arrived, "deadline_ts": arrived + limit,
            "tag_lost": ever_lost,
            "gaps": [{"from_ts": a, "to_ts": self._ts(b)} for a, b in gaps],
            "alerts": [{"ts": t, "rule": vocab.RULES[r], "state": "raised" if st else "cleared"} for t, r, st in alerts],
            # second layer (DESIGN §6.2)
            "exits": [{"leave_ts": lv, "return_ts": self._ts(rt), "reason": vocab.LEAVE_REASONS[why], "until_ts": until}
                      for lv, rt, why, until in exits],
            "welfare": [{"ts": t, "kind": vocab.WELFARE_KINDS[k]} for t, k in welfare],
            "outcome": None if outcome < 0 else vocab.OUTCOMES[outcome],
            "released_to": self._label(released_to),
            "decisions": [{"ts": t, "kind": vocab.DECISION_KINDS[k]} for t, k in decisions],
            "belongings": vocab.BELONGINGS[belongings] if checkout >= 0 else None,
            "belongings_reason": self._label(reason),
            "minor": bool(minor), "vulnerable": bool(vulnerable), "guardian": self._person(guardian),
        }

    def _item_event(self, e: tuple) -> dict[str, Any]:
        ts, code = e[0], e[1]
        slot = self.site.slot_name
        if code == IT_INTAKE:
            return {"ts": ts, "event": "intake", "slot": slot(e[2]), "case": self.cases[e[3]], "by": self._person(e[4]),
                    "owner": self._person(e[5]), "seized_ts": self._ts(e[6])}
        if code == IT_WORKORDER:
            _, _, wo, action, s, vf, vu, due, by, requested, approved_by, approved = e
            return {"ts": ts, "event": "workorder", "workorder": self.workorders[wo],
                    "action": vocab.WORKORDER_ACTIONS[action], "slot": slot(s), "valid_from": vf,
                    "valid_until": vu, "due_ts": self._ts(due), "by": self._person(by),
                    "requested_by": self._person(requested), "approved_by": self._person(approved_by),
                    "authorised": bool(approved)}
        if code == IT_SEIZURE:
            return {"ts": ts, "event": "seizure", "case": self.cases[e[2]], "by": self._person(e[3]), "seized_ts": e[4]}
        if code == IT_UNLOCK:
            return {"ts": ts, "event": "unlock", "slot": slot(e[2]), "by": self._person(e[3])}
        if code in (IT_INTAKE_OVERDUE, IT_INTAKE_OVERDUE_CLEARED):
            return {"ts": ts, "event": "intake_overdue" if code == IT_INTAKE_OVERDUE else "intake_overdue_cleared",
                    "due_ts": e[2]}
        if code == IT_OPEN:
            return {"ts": ts, "event": "open", "slot": slot(e[2]),
                    "workorder": None if e[3] < 0 else self.workorders[e[3]], "by": self._person(e[4])}
        if code in (IT_WITHDRAWN, IT_RETURNED, IT_DISPOSED, IT_RELEASED):
            name = {IT_WITHDRAWN: "withdrawn", IT_RETURNED: "returned", IT_DISPOSED: "disposed",
                    IT_RELEASED: "released"}[code]
            return {"ts": ts, "event": name, "slot": slot(e[2]), "workorder": self.workorders[e[3]]}
        if code in (IT_MISSING, IT_UNEXPECTED):
            return {"ts": ts, "event": "missing" if code == IT_MISSING else "unexpected", "slot": slot(e[2])}
        if code in (IT_OVERDUE, IT_OVERDUE_CLEARED):
            return {"ts": ts, "event": "overdue" if code == IT_OVERDUE else "overdue_cleared", "due_ts": e[2]}
        raise ValueError(f"unknown item event code {code}")
