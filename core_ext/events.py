"""The engine's input boundary: DESIGN §6.2 events → validated, interned records.

Both engines consume the same records, so everything that can be wrong with an event is
found here, once, with a message that says what: unknown type, missing or mistyped field,
unknown reader/camera/door/bank/slot, a person checked in twice or checked out while not in,
a tag already worn by someone else, time going backwards. The engines then assume valid input.

A record is a tuple ``(ts, etype, a, b, c, d, e, t2, t3, t4, items)``; what a..e and t2..t4
mean per event type is listed in ``core_ext/_engine.pxd`` (struct EventRec) and below.
Tags are resolved to persons here (a tag belongs to whoever wears it at that moment), so the
engine never sees a tag; reads of tags that belong to nobody are counted and dropped.
"""
from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import msgspec

from core_ext import vocab
from core_ext.codes import (
    CO_BELONGINGS_KEPT,
    CO_NIGHT_UNESCORTED,
    FLAG_EXTENDED,
    FLAG_MINOR,
    FLAG_PREGNANT,
    FLAG_VULNERABLE,
    GUARDIAN_SHIFT,
)
from core_ext.site import SiteModel

ET = vocab.EVENT_TYPE_CODE
E_ENROLL, E_CHECKIN, E_EXTEND, E_CHECKOUT = ET["enroll"], ET["checkin"], ET["extend"], ET["checkout"]
E_TAG, E_CAMERA, E_DOOR, E_BADGE = ET["tag_seen"], ET["camera"], ET["door"], ET["badge"]
E_INTAKE, E_WORKORDER, E_LOCKER = ET["intake"], ET["workorder"], ET["locker"]
E_LEAVE, E_RETURN, E_DECISION, E_WELFARE = ET["leave"], ET["return"], ET["decision"], ET["welfare"]
E_SEIZURE, E_UNLOCK = ET["seizure"], ET["unlock"]

_json_decode = msgspec.json.decode
_H = 3_600_000
# Cited in refusals of the second layer's rules.
_ART10 = "继续盘问规定 art. 10"
_STEPWISE_LAW = "继续盘问规定 art. 11, 17"

# Person kinds as the decoder tracks them (the engine keeps its own copy of what it needs).
_STAFF, _IN, _OUT = 1, 2, 3


class EventError(ValueError):
    """A bad event. `index` is its position in the batch handed to `decode_batch`; `field` the
    event field at fault, if one is."""

    def __init__(self, message: str, index: int | None = None, field: str | None = None):
        super().__init__(message)
        self.index = index
        self.field = field  # the event field at fault, when there is one (the desk API names it)
        self.records: list[tuple] = []


class Interner:
    """String ids ↔ dense integers, in order of first appearance."""

    __slots__ = ("names", "index")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}

    def intern(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = len(self.names)
            self.index[name] = i
            self.names.append(name)
        return i

    def __len__(self) -> int:
        return len(self.names)


def _req(ev: dict, key: str, kind: type | tuple = str) -> Any:
    try:
        value = ev[key]
    except KeyError:
        raise EventError(f"{ev.get('type')}: missing field '{key}'", field=key) from None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise EventError(f"{ev.get('type')}: field '{key}' must be {_kind_name(kind)}, got {value!r}", field=key)
    if kind is str and not value:
        raise EventError(f"{ev.get('type')}: field '{key}' must not be empty", field=key)
    return value


def _opt(ev: dict, key: str, kind: type | tuple, default: Any) -> Any:
    value = ev.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise EventError(f"{ev.get('type')}: field '{key}' must be {_kind_name(kind)}, got {value!r}", field=key)
    return value


def _kind_name(kind: type | tuple) -> str:
    if kind is int:
        return "an integer"
    if kind is bool:
        return "true or false"
    if kind is list:
        return "a list"
    if kind == (int, float):
        return "a number"
    if kind == (int, str):
        return "a slot number"
    return "a string"


def _choice(ev: dict, key: str, codes: dict[str, int]) -> int:
    value = _req(ev, key)
    try:
        return codes[value]
    except KeyError:
        raise EventError(f"{ev['type']}: unknown {key} {value!r} (expected one of {', '.join(codes)})", field=key) from None


class EventDecoder:
    """Validates and interns events in order; keeps the little state validation needs."""

    def __init__(self, site: SiteModel, engine: str | None = None):
        """`engine` ('compiled', 'reference' or None, the default) picks the JSON Lines scanner
        with core_ext.select.line_scanner: the compiled one, or the general path for every line."""
        from core_ext.select import line_scanner  # here: core_ext.select imports this module

        self.site = site
        self._scan = line_scanner(engine)
        self.persons = Interner()
        self.items = Interner()
        self.cases = Interner()
        self.workorders = Interner()
        self.person_kind: dict[int, int] = {}
        self.person_basis: dict[int, int] = {}
        self.person_limit: dict[int, int] = {}
        self.person_vulnerable: set[int] = set()
        self.person_decided: set[int] = set()
        self.tag_owner: dict[str, int] = {}
        self.person_tag: dict[int, str] = {}
        # Subjects out on a temporary exit: their tag, kept off tag_owner so reads are ignored.
        self.away_tag_owner: dict[str, int] = {}
        # Free-text values (released_to, belongings_reason) interned like ids.
        self.labels = Interner()
        self.last_ts = -1
        self.unknown_tag_reads = 0
        self._init_transient()

    def _init_transient(self) -> None:
        self._tz = zoneinfo.ZoneInfo(self.site.timezone)
        self._handlers = {
            "enroll": self._enroll, "checkin": self._checkin, "extend": self._extend,
            "checkout": self._checkout, "tag_seen": self._tag_seen, "camera": self._camera,
            "door": self._door, "badge": self._badge, "intake": self._intake,
            "workorder": self._workorder, "locker": self._locker,
            "leave": self._leave, "return": self._return, "decision": self._decision,
            "welfare": self._welfare, "seizure": self._seizure, "unlock": self._unlock,
        }

    # ------------------------------------------------------------------ snapshots

    _TRANSIENT = ("site", "_handlers", "_tz", "_scan")

    def export_state(self) -> dict[str, Any]:
        """Everything but the site and the bound handlers (rebuilt on import)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def import_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ------------------------------------------------------------------ entry points

    def decode(self, ev: Any) -> tuple | None:
        """One event → a record, or None for a read of a tag nobody wears."""
        if not isinstance(ev, dict):
            raise EventError(f"an event must be a JSON object, got {type(ev).__name__}")
        etype = ev.get("type")
        handler = self._handlers.get(etype) if isinstance(etype, str) else None
        if handler is None:
            raise EventError(f"unknown event type {etype!r}" if etype is not None else "missing field 'type'", field="type")
        ts = ev.get("ts")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise EventError(f"{etype}: field 'ts' must be a non-negative integer of ms, got {ts!r}", field="ts")
        if ts < self.last_ts:
            raise EventError(f"{etype}: ts {ts} goes back in time (previous event at {self.last_ts})", field="ts")
        rec = handler(ev, ts)
        self.last_ts = ts
        return rec

    def decode_batch(self, events: list) -> list[tuple]:
        """Decodes a batch; on a bad event raises EventError with `.index` and `.records`
        (the records decoded before it, so the caller can still apply them)."""
        out: list[tuple] = []
        append = out.append
        # Tag reads are nearly all of the traffic: validate them inline, then fall back to the
        # general path (which also produces the error message) for anything unusual.
        reader_zone = self.site.reader_zone
        reader_index = self.site.reader_index
        tag_owner = self.tag_owner
        last_ts = self.last_ts
        for i, ev in enumerate(events):
            if type(ev) is dict and ev.get("type") == "tag_seen":
                ts = ev.get("ts")
                reader = reader_index.get(ev.get("reader"))  # type: ignore[arg-type]
                tag = ev.get("tag")
                if type(ts) is int and ts >= last_ts and reader is not None and type(tag) is str and tag:
                    last_ts = ts
                    person = tag_owner.get(tag)
                    if person is None:
                        self.unknown_tag_reads += 1
                    else:
                        append((ts, E_TAG, person, reader_zone[reader], reader, 0, 0, 0, 0, 0, None))
                    continue
            self.last_ts = last_ts
            rec = self._decode_at(ev, i, out)
            last_ts = self.last_ts
            if rec is not None:
                append(rec)
        self.last_ts = last_ts
        return out

    def _decode_at(self, ev: Any, index: int, decoded: list[tuple]) -> tuple | None:
        """`decode`, with a failure telling where it happened and what was decoded before it."""
        try:
            return self.decode(ev)
        except EventError as exc:
            exc.index = index
            exc.records = decoded
            raise

    def decode_lines(self, lines: list[bytes]) -> list[tuple]:
        """JSON Lines (one event per bytes object, blank lines allowed) → records.

        On bad input raises EventError with `.index` = the offending line's position in `lines`
        and `.records` = the records decoded before it.
        """
        scan_tag_reads = self._scan  # None: the general path does it all
        out: list[tuple] = []
        site = self.site
        total = len(lines)
        i = 0
        while i < total:
            if scan_tag_reads is not None:
                i, self.last_ts, unknown = scan_tag_reads(lines, i, site.reader_index, site.reader_zone,
                                                          self.tag_owner, self.last_ts, out)
                self.unknown_tag_reads += unknown
                if i >= total:
                    break
            line = lines[i]
            if line.strip():
                try:
                    ev = _json_decode(line)
                except msgspec.DecodeError as exc:
                    err = EventError(f"malformed JSON: {exc}", i)
                    err.records = out
                    raise err from None
                rec = self._decode_at(ev, i, out)
                if rec is not None:
                    out.append(rec)
            i += 1
        return out

    # ------------------------------------------------------------------ helpers

    def _bind_tag(self, etype: str, person: int, tag: str) -> None:
        owner = self.tag_owner.get(tag, self.away_tag_owner.get(tag))
        if owner is not None and owner != person:
            raise EventError(f"{etype}: tag {tag!r} is already worn by {self.persons.names[owner]!r}", field="tag")
        old = self.person_tag.get(person)
        if old is not None and old != tag:
            del self.tag_owner[old]
        self.tag_owner[tag] = person
        self.person_tag[person] = tag

    def _unbind_tag(self, person: int) -> None:
        tag = self.person_tag.pop(person, None)
        if tag is not None and self.tag_owner.pop(tag, None) is None:
            del self.away_tag_owner[tag]

    def _slot(self, ev: dict) -> int:
        bank_id = _req(ev, "bank")
        bank = self.site.bank_index.get(bank_id)
        if bank is None:
            raise EventError(f"{ev['type']}: unknown locker bank {bank_id!r}", field="bank")
        slot = _req(ev, "slot", (int, str))
        if isinstance(slot, str):
            if not slot.isdigit():
                raise EventError(f"{ev['type']}: field 'slot' must be a slot number, got {slot!r}", field="slot")
            slot = int(slot)
        if not 1 <= slot <= self.site.bank_slots[bank]:
            raise EventError(f"{ev['type']}: bank {bank_id!r} has slots 1..{self.site.bank_slots[bank]}, got {slot}", field="slot")
        return self.site.slot_base[bank] + slot - 1

    def _by(self, ev: dict) -> int:
        by = _opt(ev, "by", str, None)
        return -1 if not by else self.persons.intern(by)

    def _limit_ms(self, basis: int, extended: bool) -> int:
        """The limit at check-in: an `extended: true` check-in starts at the first tier of a
        stepwise basis and at the highest tier of the others."""
        if not extended:
            return self.site.basis_limit_ms[basis]
        tiers = self.site.basis_tiers_ms[basis]
        return tiers[0] if self.site.basis_stepwise[basis] else tiers[-1]

    # ------------------------------------------------------------------ people

    def _enroll(self, ev: dict, ts: int) -> tuple:
        name = _req(ev, "person")
        role_name = _req(ev, "role")
        if role_name not in vocab.ENROLL_ROLES:
            raise EventError(f"enroll: role must be one of {', '.join(vocab.ENROLL_ROLES)} (subjects use checkin), "
                             f"got {role_name!r}", field="role")
        sex = _choice(ev, "sex", vocab.SEX_CODE)
        tag = _req(ev, "tag")
        ward_name = _opt(ev, "for", str, None)
        if ward_name is not None and role_name != vocab.GUARDIAN_ROLE:
            raise EventError(f"enroll: field 'for' names the subject of a guardian; role {role_name!r} takes none",
                             field="for")
        if ward_name == name:
            raise EventError(f"enroll: {name!r} cannot be their own guardian", field="for")
        person = self.persons.intern(name)
        if self.person_kind.get(person) == _IN:
            raise EventError(f"enroll: {name!r} is checked in as a subject", field="person")
        ward = -1 if not ward_name else self.persons.intern(ward_name)
        self._bind_tag("enroll", person, tag)
        self.person_kind[person] = _STAFF
        return (ts, E_ENROLL, person, vocab.ROLE_CODE[role_name], sex, ward, 0, 0, 0, 0, None)

    def _checkin(self, ev: dict, ts: int) -> tuple:
        name = _req(ev, "person")
        role_name = _req(ev, "role")
        if role_name not in vocab.SUBJECT_ROLES:
            raise EventError(f"checkin: role must be one of {', '.join(vocab.SUBJECT_ROLES)}, got {role_name!r}", field="role")
        sex = _choice(ev, "sex", vocab.SEX_CODE)
        tag = _req(ev, "tag")
        basis = _choice(ev, "basis", vocab.BASIS_CODE)
        case = self.cases.intern(_req(ev, "case"))
        arrived = _opt(ev, "arrived_ts", int, ts)
        if arrived > ts:
            raise EventError(f"checkin: arrived_ts {arrived} is after the check-in at {ts}", field="arrived_ts")
        extended = _opt(ev, "extended", bool, False)
        minor = _opt(ev, "minor", bool, False)
        age = _opt(ev, "age", int, None)
        if age is not None and not 0 <= age <= 150:
            raise EventError(f"checkin: age must be between 0 and 150 years, got {age}", field="age")
        pregnant = _opt(ev, "pregnant", bool, False)
        guardian_name = _opt(ev, "guardian", str, None)
        if guardian_name == name:
            raise EventError(f"checkin: {name!r} cannot be their own guardian", field="guardian")
        person = self.persons.intern(name)
        kind = self.person_kind.get(person)
        if kind == _IN:
            raise EventError(f"checkin: {name!r} is already checked in", field="person")
        if kind == _STAFF:
            raise EventError(f"checkin: {name!r} is enrolled staff", field="person")
        vulnerable = vocab.BASES[basis] == vocab.VULNERABLE_BASIS and (
            pregnant or age is not None and (age < vocab.VULNERABLE_UNDER_AGE or age >= vocab.VULNERABLE_FROM_AGE))
        if vulnerable and extended:
            raise EventError(f"checkin: {name!r} is a vulnerable subject (under 16, 70 or older, pregnant or nursing) "
                             f"under {vocab.VULNERABLE_BASIS}: their {self.site.vulnerable_limit_ms / _H:g} h limit "
                             f"has no extension ({_ART10})", field="extended")
        if extended and not self.site.basis_tiers_ms[basis]:
            raise EventError(f"checkin: {vocab.BASES[basis]} has no extended limit", field="extended")
        guardian = -1 if not guardian_name else self.persons.intern(guardian_name)
        self._bind_tag("checkin", person, tag)
        self.person_kind[person] = _IN
        self.person_basis[person] = basis
        self.person_decided.discard(person)
        if vulnerable:
            self.person_vulnerable.add(person)
            limit = self.site.vulnerable_limit_ms
        else:
            self.person_vulnerable.discard(person)
            limit = self._limit_ms(basis, extended)
        self.person_limit[person] = limit
        minor = minor or age is not None and age < vocab.MINOR_UNDER_AGE
        flags = ((FLAG_EXTENDED if extended else 0) | (FLAG_MINOR if minor else 0)
                 | (FLAG_VULNERABLE if vulnerable else 0) | (FLAG_PREGNANT if pregnant else 0)
                 | (guardian + 1) << GUARDIAN_SHIFT)
        return (ts, E_CHECKIN, person, vocab.ROLE_CODE[role_name], sex, basis, case, arrived, limit, flags, None)

    def _checked_in(self, ev: dict) -> int:
        name = _req(ev, "person")
        person = self.persons.index.get(name)
        if person is None or self.person_kind.get(person) != _IN:
            state = "checked out already" if person is not None and self.person_kind.get(person) == _OUT else "not checked in"
            raise EventError(f"{ev['type']}: {name!r} is {state}", field="person")
        return person

    def _extend(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        level = _opt(ev, "level", str, "extended")
        if level != "extended":
            raise EventError(f"extend: unknown level {level!r} (expected 'extended')", field="level")
        name = ev["person"]
        basis = self.person_basis[person]
        basis_name = vocab.BASES[basis]
        tiers = self.site.basis_tiers_ms[basis]
        limit_h = _opt(ev, "limit_h", (int, float), None)
        current = self.person_limit[person]
        # The checks in DESIGN §6.2 "Stepwise tiers" order.
        if person in self.person_vulnerable:
            raise EventError(f"extend: {name!r} is a vulnerable subject (under 16, 70 or older, pregnant or nursing) "
                             f"under {basis_name}: their {self.site.vulnerable_limit_ms / _H:g} h limit has no "
                             f"extension ({_ART10})", field="person")
        if not tiers:
            raise EventError(f"extend: {basis_name} has no extended limit", field="person")
        allowed = ", ".join(f"{t / _H:g}" for t in tiers)
        limit = None if limit_h is None else int(round(limit_h * _H))
        if limit is not None and limit not in tiers:
            raise EventError(f"extend: limit_h {limit_h} is not an extended limit of {basis_name} "
                             f"(allowed: {allowed})", field="limit_h")
        if self.site.basis_stepwise[basis]:
            above = [t for t in tiers if t > current]
            if not above:
                raise EventError(f"extend: {name!r} is already at the top tier of {basis_name} "
                                 f"({current / _H:g} h); there is no further extension ({_STEPWISE_LAW})",
                                 field="limit_h" if limit is not None else "person")
            if limit is None:
                limit = above[0]
            elif limit > above[0]:
                raise EventError(f"extend: limit_h {limit_h} skips the {above[0] / _H:g} h tier of {basis_name}: "
                                 f"tiers are climbed one at a time ({_STEPWISE_LAW})", field="limit_h")
            elif limit <= current:
                raise EventError(f"extend: limit_h {limit_h} is not above the {current / _H:g} h limit in force "
                                 f"for {name!r}: an extension never shortens ({_STEPWISE_LAW})", field="limit_h")
        elif limit is None:
            limit = tiers[-1]
        if limit < current:
            raise EventError(f"extend: limit_h {limit_h} is below the {current / _H:g} h limit in force for "
                             f"{name!r}: an extension never shortens", field="limit_h")
        if person not in self.person_decided:  # after a decision an extend changes nothing
            self.person_limit[person] = limit
        return (ts, E_EXTEND, person, 0, 0, 0, 0, 0, limit, 0, None)

    def _checkout(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        outcome_name = _opt(ev, "outcome", str, None)
        outcome = -1
        if outcome_name is not None:
            outcome = vocab.OUTCOME_CODE.get(outcome_name, -1)
            if outcome < 0:
                raise EventError(f"checkout: unknown outcome {outcome_name!r} (expected one of "
                                 f"{', '.join(vocab.OUTCOMES)})", field="outcome")
        released_to = _opt(ev, "released_to", str, None)
        belongings = _opt(ev, "belongings", str, "returned")
        if belongings not in vocab.BELONGINGS_CODE:
            raise EventError(f"checkout: unknown belongings {belongings!r} (expected one of "
                             f"{', '.join(vocab.BELONGINGS)})", field="belongings")
        reason = _opt(ev, "belongings_reason", str, None)
        if belongings == "kept" and not reason:
            raise EventError("checkout: belongings 'kept' needs a belongings_reason (继续盘问规定 art. 32: "
                             "belongings are returned at the end unless kept for a stated reason)",
                             field="belongings_reason")
        flags = CO_BELONGINGS_KEPT if belongings == "kept" else 0
        if (person in self.person_vulnerable and not released_to
                and (outcome_name is None or outcome_name in vocab.RELEASE_OUTCOMES)):
            hour = datetime.datetime.fromtimestamp(ts / 1000, self._tz).hour
            if hour >= vocab.NIGHT_START_H or hour < vocab.NIGHT_END_H:
                flags |= CO_NIGHT_UNESCORTED
        self.person_kind[person] = _OUT
        self._unbind_tag(person)
        return (ts, E_CHECKOUT, person, outcome, -1 if not released_to else self.labels.intern(released_to), flags,
                -1 if not reason else self.labels.intern(reason), 0, 0, 0, None)

    # ------------------------------------------------------------------ second layer: people

    def _leave(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        tag = self.person_tag.get(person)
        if tag is None or tag in self.away_tag_owner:
            raise EventError(f"leave: {ev['person']!r} is already out on a temporary exit", field="person")
        reason = _choice(ev, "reason", vocab.LEAVE_REASON_CODE)
        until = _req(ev, "until_ts", int)
        if until < 0:
            raise EventError(f"leave: field 'until_ts' must be a non-negative integer of ms, got {until}", field="until_ts")
        approved_by = self.persons.intern(_req(ev, "approved_by"))
        del self.tag_owner[tag]
        self.away_tag_owner[tag] = person
        return (ts, E_LEAVE, person, reason, 0, approved_by, 0, until, 0, 0, None)

    def _return(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        tag = self.person_tag.get(person)
        if tag is None or tag not in self.away_tag_owner:
            raise EventError(f"return: {ev['person']!r} is not out on a temporary exit (a return needs a leave "
                             "first; 办案区使用管理规定 art. 4-5)", field="person")
        del self.away_tag_owner[tag]
        self.tag_owner[tag] = person
        return (ts, E_RETURN, person, 0, 0, 0, 0, 0, 0, 0, None)

    def _decision(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        kind = _choice(ev, "kind", vocab.DECISION_KIND_CODE)
        self.person_decided.add(person)
        return (ts, E_DECISION, person, kind, 0, 0, 0, 0, 0, 0, None)

    def _welfare(self, ev: dict, ts: int) -> tuple:
        person = self._checked_in(ev)
        kind = _choice(ev, "kind", vocab.WELFARE_KIND_CODE)
        return (ts, E_WELFARE, person, kind, 0, 0, 0, 0, 0, 0, None)

    # ------------------------------------------------------------------ devices

    def _tag_seen(self, ev: dict, ts: int) -> tuple | None:
        reader_id = _req(ev, "reader")
        reader = self.site.reader_index.get(reader_id)
        if reader is None:
            raise EventError(f"tag_seen: unknown reader {reader_id!r}", field="reader")
        tag = _req(ev, "tag")
        person = self.tag_owner.get(tag)
        if person is None:
            self.unknown_tag_reads += 1
            return None
        return (ts, E_TAG, person, self.site.reader_zone[reader], reader, 0, 0, 0, 0, 0, None)

    def _camera(self, ev: dict, ts: int) -> tuple:
        return self._state_change(ev, ts, E_CAMERA, "camera", self.site.camera_index, vocab.CAMERA_STATE_CODE,
                                  " (not listed in any zone)")

    def _door(self, ev: dict, ts: int) -> tuple:
        return self._state_change(ev, ts, E_DOOR, "door", self.site.door_index, vocab.DOOR_STATE_CODE, "")

    def _state_change(self, ev: dict, ts: int, etype: int, key: str, index: dict[str, int],
                      states: dict[str, int], hint: str) -> tuple:
        """A device (camera, door) reporting its state: {key: id, state: ...}."""
        device_id = _req(ev, key)
        device = index.get(device_id)
        if device is None:
            raise EventError(f"{key}: unknown {key} {device_id!r}{hint}", field=key)
        return (ts, etype, device, _choice(ev, "state", states), 0, 0, 0, 0, 0, 0, None)

    def _badge(self, ev: dict, ts: int) -> tuple:
        tag = _req(ev, "tag")
        bank = door = reader = -1
        where = ev.get("bank")
        if where is not None:
            bank = self.site.bank_index.get(where, -1)
            if bank < 0:
                raise EventError(f"badge: unknown locker bank {where!r}", field="bank")
        else:
            where = _req(ev, "reader")
            door = self.site.door_index.get(where, -1)
            reader = self.site.reader_index.get(where, -1)
            if door < 0 and reader < 0:
                raise EventError(f"badge: unknown reader or door {where!r}", field="reader")
        return (ts, E_BADGE, self.tag_owner.get(tag, -1), bank, door, reader, 0, 0, 0, 0, None)

    def _intake(self, ev: dict, ts: int) -> tuple:
        item = self.items.intern(_req(ev, "item"))
        case = self.cases.intern(_req(ev, "case"))
        slot = self._slot(ev)
        owner_name = _opt(ev, "owner", str, None)
        owner = -1 if not owner_name else self.persons.intern(owner_name)
        seized = _opt(ev, "seized_ts", int, -1)
        if seized > ts:
            raise EventError(f"intake: seized_ts {seized} is after the intake at {ts}", field="seized_ts")
        return (ts, E_INTAKE, item, case, slot, self._by(ev), owner, seized, 0, 0, None)

    def _seizure(self, ev: dict, ts: int) -> tuple:
        item = self.items.intern(_req(ev, "item"))
        case = self.cases.intern(_req(ev, "case"))
        by = self.persons.intern(_req(ev, "by"))
        seized = _opt(ev, "seized_ts", int, ts)
        if not 0 <= seized <= ts:
            raise EventError(f"seizure: seized_ts {seized} must be a time of ms no later than the event at {ts}",
                             field="seized_ts")
        return (ts, E_SEIZURE, item, case, 0, by, 0, seized, 0, 0, None)

    def _unlock(self, ev: dict, ts: int) -> tuple:
        slot = self._slot(ev)
        by = self.persons.intern(_req(ev, "by"))
        return (ts, E_UNLOCK, slot, 0, 0, by, 0, 0, 0, 0, None)

    def _workorder(self, ev: dict, ts: int) -> tuple:
        wo_name = _req(ev, "id")
        if wo_name in self.workorders.index:
            raise EventError(f"workorder: duplicate work order id {wo_name!r}", field="id")
        wo = self.workorders.intern(wo_name)
        item = self.items.intern(_req(ev, "item"))
        action = _choice(ev, "action", vocab.WORKORDER_ACTION_CODE)
        slot = self._slot(ev)
        valid_from = _opt(ev, "valid_from", int, ts)
        valid_until = _opt(ev, "valid_until", int, valid_from + self.site.workorder_window_ms)
        if valid_until < valid_from:
            raise EventError(f"workorder: valid_until {valid_until} is before valid_from {valid_from}", field="valid_until")
        due = _opt(ev, "due_ts", int, -1)
        by = self._by(ev)
        requested_name = _opt(ev, "requested_by", str, None)
        approved_name = _opt(ev, "approved_by", str, None)
        requested = -1 if not requested_name else self.persons.intern(requested_name)
        approved_by = -1 if not approved_name else self.persons.intern(approved_name)
        # DESIGN §6.2 "Approval": no approver, or the requester (or the opener) approving their own order.
        approved = not self.site.workorder_requires_approval or (
            approved_by >= 0 and approved_by != requested and approved_by != by)
        return (ts, E_WORKORDER, wo, item, slot, action, by, valid_from, valid_until, due,
                (requested, approved_by, 1 if approved else 0))

    def _locker(self, ev: dict, ts: int) -> tuple:
        slot = self._slot(ev)
        state = _choice(ev, "state", vocab.LOCKER_STATE_CODE)
        raw = _opt(ev, "items", list, None)
        items = None
        if raw is not None:
            for it in raw:
                if not isinstance(it, str) or not it:
                    raise EventError(f"locker: items must be non-empty strings, got {it!r}", field="items")
            items = tuple(sorted({self.items.intern(it) for it in raw}))
        return (ts, E_LOCKER, slot, state, 0, 0, 0, 0, 0, 0, items)
