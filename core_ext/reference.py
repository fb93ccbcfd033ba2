"""The reference engine: DESIGN §6.2 in plain Python.

This is the semantic twin of the Cython core (core_ext/_engine.pyx): both consume the same
decoded records (core_ext/events.py) and emit the same output tuples (formatted to JSON by
core_ext/output.py), and the differential tests require byte-identical output. Keep the
order of operations here and in the .pyx the same: outputs at one timestamp are ordered by
the sequence in which the algorithm produces them.

Time: events are applied in order; before an event at ts, every timer with a deadline < ts
fires (at its own deadline); timers due exactly at ts wait until the event is applied, so a
condition that ends exactly at start + grace raises nothing ("for longer than a grace"), and a
subject checked out exactly at the limit is not over it. `tick(now)` fires every deadline <= now.
A deadline already past when it is armed fires at the moment it is armed.

Timers due at one instant fire by class (codes.TIMER_CLASS: lost tags, grace deadlines, time
limits, property timers), then in the order they were armed. A lost-tag timer counts as armed by
the event that last set the person's anchor (its ordinal in the whole stream), because it is
re-armed lazily: one heap entry per person, pushed on to the anchor when it comes due.
"""
from __future__ import annotations

import heapq

from core_ext import vocab
from core_ext.codes import (  # noqa: F401  (re-exported for the compiled core and tests)
    CAMERA_ONLINE,
    CAMERA_RECORDING,
    CLEARED,
    CO_BELONGINGS_KEPT,
    CO_NIGHT_UNESCORTED,
    CONDITIONS,
    CUSTODY_DECISION,
    CUSTODY_EXTENDED,
    CUSTODY_IN,
    CUSTODY_LEAVE,
    CUSTODY_OUT,
    CUSTODY_RETURN,
    FLAG_MINOR,
    FLAG_VULNERABLE,
    GUARDIAN_SHIFT,
    KIND_GUARDIAN,
    KIND_IN,
    KIND_NONE,
    KIND_OUT,
    KIND_STAFF,
    N_COND,
    OUT_ALERT,
    OUT_CUSTODY,
    OUT_LOCATION,
    OUT_TRAIL,
    R_BELONGINGS,
    R_COSUS,
    R_EXCEEDED,
    R_FLOW,
    R_INCOMPLETE,
    R_INSUFF,
    R_LOST,
    R_MEAL,
    R_MIXED,
    R_NIGHT,
    R_TEMP_EXIT,
    R_TRANSFER,
    R_WARN,
    RAISED,
    ROLE_OFFICER,
    SEX_F,
    T_COND,
    T_EXCEED,
    T_LOST,
    T_MEAL,
    T_TEMP_EXIT,
    T_TRANSFER,
    T_WARN,
    TIMER_CLASS,
    WELFARE_MEAL,
    ZT_INTERROGATION,
    ZT_QUESTIONING,
    ZT_SECURITY,
    ZT_WAITING,
)
from core_ext.events import (
    E_BADGE,
    E_CAMERA,
    E_CHECKIN,
    E_CHECKOUT,
    E_DECISION,
    E_DOOR,
    E_ENROLL,
    E_EXTEND,
    E_INTAKE,
    E_LEAVE,
    E_LOCKER,
    E_RETURN,
    E_SEIZURE,
    E_TAG,
    E_UNLOCK,
    E_WELFARE,
    E_WORKORDER,
)
from core_ext.property import PropertyLedger
from core_ext.site import SiteModel


class _Person:
    __slots__ = (
        "kind", "role", "sex", "zone", "last_zone", "anchor", "anchor_ord", "last_read", "lost_pending",
        "lost_gen", "lost", "ever_lost", "checkin_ts", "arrived_ts", "basis", "case", "limit", "time_gen",
        "warn_raised", "exceeded_raised", "cond_since", "cond_raised",
        "cond_gen", "cond_zone", "visited", "stays", "stay", "gaps", "gap_from", "alerts", "flags",
        # second layer
        "minor", "vulnerable", "guardian", "ward", "away", "noflow", "exits", "welfare", "decisions",
        "decided", "meal_gen", "meal_since", "meal_raised", "transfer_gen", "transfer_raised",
        "exit_gen", "exit_raised", "outcome", "released_to", "belongings", "belongings_reason",
    )

    def __init__(self) -> None:
        self.kind = KIND_NONE
        self.role = 0
        self.sex = 0
        self.zone = -1
        self.last_zone = -1
        self.anchor = 0
        self.anchor_ord = 0
        self.last_read = -1
        self.lost_pending = False
        self.lost_gen = 0
        self.lost = -1  # ts tag_lost was raised, -1 when not lost
        self.ever_lost = False
        self.checkin_ts = -1
        self.arrived_ts = -1
        self.basis = -1
        self.case = -1
        self.limit = 0
        self.flags = 0
        self.time_gen = 0
        self.warn_raised = -1
        self.exceeded_raised = -1
        self.cond_since = [-1] * N_COND
        self.cond_raised = [-1] * N_COND  # raised ts, -1 when not raised
        self.cond_gen = [0] * N_COND
        self.cond_zone = [-1] * N_COND
        self.visited = 0
        self.stays: list = []
        self.stay: list | None = None
        self.alerts: list = []
        self.gaps: list = []
        self.gap_from = -1
        self.minor = False
        self.vulnerable = False
        self.guardian = -1         # the guardian named at check-in
        self.ward = -1             # for a guardian: the subject enrolled `for`
        self.away = False          # out on a temporary exit
        self.noflow = False        # the next zone is not flow-checked (after a return)
        self.exits: list = []      # [leave_ts, return_ts, reason, until_ts]
        self.welfare: list = []
        self.decisions: list = []
        self.decided = -1          # ts of the first decision
        self.meal_gen = 0
        self.meal_since = -1
        self.meal_raised = -1
        self.transfer_gen = 0
        self.transfer_raised = -1
        self.exit_gen = 0
        self.exit_raised = -1
        self.outcome = -1
        self.released_to = -1
        self.belongings = 0
        self.belongings_reason = -1


class ReferenceEngine:
    """feed(records) → output tuples; tick(now) → output tuples; finish(until) → final trails."""

    name = "reference"

    def __init__(self, site: SiteModel):
        self.site = site
        self.persons: list[_Person] = []
        nz = len(site.zone_ids)
        self.zone_members: list[set[int]] = [set() for _ in range(nz)]
        self.zone_subjects: list[set[int]] = [set() for _ in range(nz)]
        self.zone_officers = [0] * nz
        self.zone_female_staff = [0] * nz
        self.zone_case_count: list[dict[int, int]] = [{} for _ in range(nz)]
        self.zone_sex_count = [[0, 0] for _ in range(nz)]
        self.zone_rec_cams = [0] * nz
        self.camera_rec = [False] * len(site.camera_ids)
        self.property = PropertyLedger(site, self._push, self._alert)
        self.heap: list = []
        self.seq = 0
        self.now = 0
        self.ord = 0  # ordinal of the event being applied in the whole stream
        self.out: list = []
        self.events_seen = 0

    # ------------------------------------------------------------------ public API

    def feed(self, records: list[tuple]) -> list:
        out = self.out = []
        heap = self.heap
        persons = self.persons
        order = self.events_seen
        for rec in records:
            ts = rec[0]
            if heap and heap[0][0] < ts:
                self._run_timers(ts, inclusive=False)
            self.now = ts
            self.ord = order
            order += 1
            if rec[1] == E_TAG:
                # A read of someone already placed there and not lost changes nothing but the
                # lost-tag anchor (the compiled core's hot path does exactly this).
                p = persons[rec[2]]
                p.last_read = p.anchor = ts
                p.anchor_ord = self.ord
                if p.lost < 0 and p.lost_pending and p.zone == rec[3]:
                    continue
                self._tag_seen(ts, rec[2], rec[3])
            else:
                self._apply(rec)
        self.events_seen += len(records)
        self.out = []
        return out

    def tick(self, now: int) -> list:
        out = self.out = []
        self._run_timers(now, inclusive=True)
        if now > self.now:
            self.now = now
        self.out = []
        return out

    def finish(self, until: int) -> list:
        """Fire timers up to `until`, then emit trails of subjects still in and all item trails."""
        out = self.tick(until)
        now = max(until, self.now)
        for pid, p in enumerate(self.persons):
            if p.kind == KIND_IN:
                out.append(self._trail(pid, p, now, checked_out=False))
        out += self.property.item_trails(now)
        return out

    def export_state(self) -> dict:
        """The engine's state as plain objects (no site, no callbacks): core_ext/snapshot.py turns
        it into JSON."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("site", "property", "out")}
        state["property"] = self.property.export_state()
        return state

    def import_state(self, state: dict) -> None:
        state = dict(state)
        self.property.import_state(state.pop("property"))
        self.__dict__.update(state)

    # ------------------------------------------------------------------ plumbing

    def _person(self, pid: int) -> _Person:
        persons = self.persons
        while len(persons) <= pid:
            persons.append(_Person())
        return persons[pid]

    def _push(self, deadline: int, kind: int, ident: int, gen: int, order: int = -1) -> None:
        """Arms a timer; `order` is the arm order of a lost-tag timer (the anchor's event ordinal),
        every other timer is ordered by when it is pushed."""
        if deadline < self.now:
            deadline = self.now
        self.seq += 1
        heapq.heappush(self.heap, (deadline, TIMER_CLASS[kind], self.seq if order < 0 else order, kind, ident, gen))

    def _push_lost(self, deadline: int, pid: int, p: _Person) -> None:
        self._push(deadline, T_LOST, pid, p.lost_gen, p.anchor_ord)

    def _run_timers(self, limit: int, inclusive: bool) -> None:
        heap = self.heap
        while heap and (heap[0][0] < limit or inclusive and heap[0][0] == limit):
            deadline, _, order, kind, ident, gen = heapq.heappop(heap)
            self.now = deadline
            if kind == T_LOST:
                p = self.persons[ident]
                if gen != p.lost_gen:
                    continue
                real = p.anchor + self.site.lost_after_ms
                if real > deadline or p.anchor_ord > order:  # read since: on to the anchor's deadline
                    self._push_lost(real, ident, p)
                    continue
            self._fire(deadline, kind, ident, gen)

    def _alert(self, ts: int, rule: int, state: int, subject: int, zone: int,
               n1: int = -1, n2: int = -1, l1: tuple = (), l2: tuple = ()) -> None:
        self.out.append((OUT_ALERT, ts, rule, state, subject, zone, n1, n2, l1, l2))

    def _person_alert(self, p: _Person, ts: int, rule: int, state: int, pid: int, zone: int,
                      n1: int = -1, n2: int = -1, l1: tuple = ()) -> None:
        self._alert(ts, rule, state, pid, zone, n1, n2, l1)
        p.alerts.append((ts, rule, state))

    # ------------------------------------------------------------------ events

    def _apply(self, rec: tuple) -> None:
        etype = rec[1]
        if etype == E_TAG:
            self._tag_seen(rec[0], rec[2], rec[3])
        elif etype == E_CAMERA:
            self._camera(rec[0], rec[2], rec[3])
        elif etype == E_CHECKIN:
            self._checkin(rec)
        elif etype == E_CHECKOUT:
            self._checkout(rec)
        elif etype == E_ENROLL:
            self._set_staff_role(rec[2], self._person(rec[2]), rec[3], rec[4], rec[5])
        elif etype == E_EXTEND:
            self._extend(rec[0], rec[2], rec[8])
        elif etype == E_DOOR:
            self.property.door(rec[0], rec[2], rec[3])
        elif etype == E_BADGE:
            self.property.badge(rec[0], rec[2], rec[3])
        elif etype == E_INTAKE:
            self.property.intake(rec[0], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7])
        elif etype == E_WORKORDER:
            ts, _, wo, iid, slot, action, by, valid_from, valid_until, due, approval = rec
            self.property.workorder(ts, wo, iid, slot, action, by, valid_from, valid_until, due, approval)
        elif etype == E_LOCKER:
            self.property.locker(rec[0], rec[2], rec[3], rec[10])
        elif etype == E_LEAVE:
            self._leave(rec[0], rec[2], rec[3], rec[7])
        elif etype == E_RETURN:
            self._return(rec[0], rec[2])
        elif etype == E_DECISION:
            self._decision(rec[0], rec[2], rec[3])
        elif etype == E_WELFARE:
            self._welfare(rec[0], rec[2], rec[3])
        elif etype == E_SEIZURE:
            self.property.seizure(rec[0], rec[2], rec[3], rec[5], rec[7])
        elif etype == E_UNLOCK:
            self.property.unlock(rec[0], rec[2], rec[5])

    def _set_staff_role(self, pid: int, p: _Person, role: int, sex: int, ward: int) -> None:
        # (Re-)enrolment keeps the location and may change kind, role, sex or ward while the
        # person stands in a zone.
        zone = p.zone
        if zone >= 0:
            self._leave_counts(p, zone)
        p.kind = KIND_GUARDIAN if role == vocab.ROLE_GUARDIAN else KIND_STAFF
        p.role, p.sex, p.ward = role, sex, ward
        if zone >= 0:
            self._enter_counts(pid, p, zone)
            self._evaluate_zones(-1, zone, -1)

    # ------------------------------------------------------------------ location

    def _tag_seen(self, ts: int, pid: int, zone: int) -> None:
        p = self.persons[pid]
        p.last_read = ts
        p.anchor = ts
        p.anchor_ord = self.ord
        if p.lost >= 0:
            self._end_lost(pid, p, ts)
        if not p.lost_pending:
            p.lost_pending = True
            self._push_lost(ts + self.site.lost_after_ms, pid, p)
        if p.zone != zone:
            self._move(pid, p, zone, ts)

    def _end_lost(self, pid: int, p: _Person, ts: int) -> None:
        """The tag is read again, or the subject checked out: clear tag_lost and close the gap."""
        self._person_alert(p, ts, R_LOST, CLEARED, pid, p.last_zone, p.lost)
        p.lost = -1
        if p.gap_from >= 0:
            p.gaps.append((p.gap_from, ts))
            p.gap_from = -1

    def _leave_counts(self, p: _Person, zone: int) -> None:
        if p.kind == KIND_STAFF:
            if p.role == ROLE_OFFICER:
                self.zone_officers[zone] -= 1
            if p.sex == SEX_F:
                self.zone_female_staff[zone] -= 1

    def _enter_counts(self, pid: int, p: _Person, zone: int) -> None:
        if p.kind == KIND_STAFF:
            if p.role == ROLE_OFFICER:
                self.zone_officers[zone] += 1
                for sid in self.zone_subjects[zone]:
                    stay = self.persons[sid].stay
                    if stay is not None:
                        stay[3].add(pid)
            if p.sex == SEX_F:
                self.zone_female_staff[zone] += 1

    def _move(self, pid: int, p: _Person, zone: int, ts: int) -> None:
        old = p.zone
        subject = p.kind == KIND_IN
        if old >= 0:
            self.zone_members[old].discard(pid)
            if subject:
                self.zone_subjects[old].discard(pid)
                counts = self.zone_case_count[old]
                counts[p.case] -= 1
                self.zone_sex_count[old][p.sex] -= 1
                self._close_stay(p, ts)
            else:
                self._leave_counts(p, old)
        p.zone = zone
        self.out.append((OUT_LOCATION, ts, pid, zone, old))
        if zone >= 0:
            self.zone_members[zone].add(pid)
            if subject:
                site = self.site
                if (site.flow_allowed is not None and p.last_zone >= 0 and p.last_zone != zone and not p.noflow
                        and (p.last_zone, zone) not in site.flow_allowed):
                    self._person_alert(p, ts, R_FLOW, RAISED, pid, zone, p.last_zone, zone)
                p.last_zone = zone
                p.noflow = False
                self.zone_subjects[zone].add(pid)
                counts = self.zone_case_count[zone]
                counts[p.case] = counts.get(p.case, 0) + 1
                self.zone_sex_count[zone][p.sex] += 1
                self._open_stay(p, zone, ts)
            else:
                self._enter_counts(pid, p, zone)
        self._evaluate_zones(pid if subject else -1, old, zone)

    def _open_stay(self, p: _Person, zone: int, ts: int) -> None:
        officers = {m for m in self.zone_members[zone]
                    if self.persons[m].kind == KIND_STAFF and self.persons[m].role == ROLE_OFFICER}
        unrec_since = ts if self.site.zone_requires_recording[zone] and self.zone_rec_cams[zone] == 0 else -1
        # stay = [zone, enter, leave, officers, unrecorded_ms, unrecorded_since]
        p.stay = [zone, ts, -1, officers, 0, unrec_since]
        p.visited |= 1 << self.site.zone_type[zone]

    def _close_stay(self, p: _Person, ts: int) -> None:
        stay = p.stay
        if stay is None:
            return
        if stay[5] >= 0:
            stay[4] += ts - stay[5]
            stay[5] = -1
        stay[2] = ts
        p.stays.append(stay)
        p.stay = None

    # ------------------------------------------------------------------ conditions

    def _evaluate_zones(self, mover: int, old: int, new: int) -> None:
        """Re-evaluates the mover first, then every subject of the zone it left and the zone it
        entered. A subject stands in one zone at a time and old != new, so nobody twice."""
        if mover >= 0:
            self._evaluate(mover)
        for zone in (old, new):
            if zone >= 0:
                for sid in sorted(self.zone_subjects[zone]):
                    if sid != mover:
                        self._evaluate(sid)

    def _holds(self, p: _Person, pid: int) -> list[bool]:
        zone = p.zone
        if p.kind != KIND_IN or zone < 0:
            return [False] * N_COND
        site = self.site
        officers = self.zone_officers[zone]
        zt = site.zone_type[zone]
        waiting = zt == ZT_WAITING
        questioned = p.minor and (zt == ZT_INTERROGATION or zt == ZT_QUESTIONING)
        return [
            officers == 0,
            site.zone_min_officers[zone] > 1 and 0 < officers < site.zone_min_officers[zone],
            site.zone_separate[zone] and self.zone_case_count[zone].get(p.case, 0) > 1,
            site.zone_requires_recording[zone] and self.zone_rec_cams[zone] == 0,
            p.sex == SEX_F and zt == ZT_SECURITY and self.zone_female_staff[zone] == 0,
            p.vulnerable and waiting,
            waiting and self.zone_sex_count[zone][1 - p.sex] > 0,
            questioned and not self._guardian_present(pid, p, zone),
            questioned and p.sex == SEX_F and self.zone_female_staff[zone] == 0,
        ]

    def _guardian_present(self, pid: int, p: _Person, zone: int) -> bool:
        """A guardian of the subject (enrolled `for` them, or named at their check-in) is located there."""
        persons = self.persons
        for m in self.zone_members[zone]:
            if m == p.guardian or persons[m].kind == KIND_GUARDIAN and persons[m].ward == pid:
                return True
        return False

    def _evaluate(self, pid: int) -> None:
        p = self.persons[pid]
        holds = self._holds(p, pid)
        now = self.now
        for c in range(N_COND):
            if holds[c]:
                if p.cond_since[c] < 0:
                    p.cond_since[c] = now
                    self._push(now + self.site.grace_ms[CONDITIONS[c]], T_COND, pid * N_COND + c, p.cond_gen[c])
            elif p.cond_since[c] >= 0:
                self._end_condition(pid, p, c, now)

    def _end_condition(self, pid: int, p: _Person, c: int, ts: int) -> None:
        if p.cond_raised[c] >= 0:
            self._person_alert(p, ts, CONDITIONS[c], CLEARED, pid, p.cond_zone[c], p.cond_raised[c])
            p.cond_raised[c] = -1
        p.cond_since[c] = -1
        p.cond_gen[c] += 1

    def _raise_condition(self, pid: int, p: _Person, c: int, ts: int) -> None:
        zone = p.zone
        rule = CONDITIONS[c]
        n1 = n2 = -1
        others: tuple = ()
        if rule == R_INSUFF:
            n1, n2 = self.zone_officers[zone], self.site.zone_min_officers[zone]
        elif rule == R_COSUS:
            n1 = p.case
            others = tuple(sorted(s for s in self.zone_subjects[zone]
                                  if s != pid and self.persons[s].case == p.case))
        elif rule == R_MIXED:
            others = tuple(sorted(s for s in self.zone_subjects[zone] if self.persons[s].sex != p.sex))
        p.cond_raised[c] = ts
        p.cond_zone[c] = zone
        self._person_alert(p, ts, rule, RAISED, pid, zone, n1, n2, others)

    # ------------------------------------------------------------------ timers

    def _fire(self, ts: int, kind: int, ident: int, gen: int) -> None:
        if kind == T_LOST:
            # generation and re-arm already checked in _run_timers
            p = self.persons[ident]
            p.lost_pending = False
            if p.kind == KIND_IN and p.lost < 0:
                p.lost = ts
                p.ever_lost = True
                p.gap_from = ts
                self._person_alert(p, ts, R_LOST, RAISED, ident, p.last_zone, p.last_read)
            if p.zone >= 0:
                self._move(ident, p, -1, ts)
        elif kind == T_COND:
            pid, c = divmod(ident, N_COND)
            p = self.persons[pid]
            if gen == p.cond_gen[c] and p.cond_since[c] >= 0 and p.cond_raised[c] < 0:
                self._raise_condition(pid, p, c, ts)
        elif kind == T_WARN:
            p = self.persons[ident]
            if gen == p.time_gen and p.kind == KIND_IN:
                p.warn_raised = ts
                self._person_alert(p, ts, R_WARN, RAISED, ident, p.zone, p.arrived_ts + p.limit, p.limit)
        elif kind == T_EXCEED:
            p = self.persons[ident]
            if gen == p.time_gen and p.kind == KIND_IN:
                if p.warn_raised >= 0:
                    self._person_alert(p, ts, R_WARN, CLEARED, ident, p.zone, p.warn_raised)
                    p.warn_raised = -1
                p.exceeded_raised = ts
                self._person_alert(p, ts, R_EXCEEDED, RAISED, ident, p.zone, p.arrived_ts + p.limit, p.limit)
        elif kind == T_MEAL:
            p = self.persons[ident]
            if gen == p.meal_gen and p.kind == KIND_IN and p.meal_raised < 0:
                p.meal_raised = ts
                self._person_alert(p, ts, R_MEAL, RAISED, ident, p.zone, p.meal_since,
                                   p.meal_since + self.site.meal_interval_ms)
        elif kind == T_TRANSFER:
            p = self.persons[ident]
            if gen == p.transfer_gen and p.kind == KIND_IN and p.transfer_raised < 0:
                p.transfer_raised = ts
                self._person_alert(p, ts, R_TRANSFER, RAISED, ident, p.zone, p.decided, p.decisions[0][1])
        elif kind == T_TEMP_EXIT:
            p = self.persons[ident]
            if gen == p.exit_gen and p.kind == KIND_IN and p.away and p.exit_raised < 0:
                p.exit_raised = ts
                _, _, reason, until = p.exits[-1]
                self._person_alert(p, ts, R_TEMP_EXIT, RAISED, ident, p.zone, until, reason)
        else:
            self.property.fire(ts, kind, ident, gen)

    # ------------------------------------------------------------------ custody

    def _checkin(self, rec: tuple) -> None:
        ts, _, pid, role, sex, basis, case, arrived, limit, flags, _ = rec
        p = self._person(pid)
        fresh = _Person()
        # A person checked in again after a check-out starts a new trail; keep timer generations
        # moving forward so stale heap entries of the previous custody never fire.
        fresh.lost_gen = p.lost_gen + 1
        fresh.time_gen = p.time_gen + 1
        fresh.cond_gen = [g + 1 for g in p.cond_gen]
        fresh.meal_gen = p.meal_gen + 1
        fresh.transfer_gen = p.transfer_gen + 1
        fresh.exit_gen = p.exit_gen + 1
        self.persons[pid] = p = fresh
        p.kind = KIND_IN
        p.role, p.sex, p.basis, p.case = role, sex, basis, case
        p.arrived_ts, p.limit, p.flags = arrived, limit, flags
        p.minor = bool(flags & FLAG_MINOR)
        p.vulnerable = bool(flags & FLAG_VULNERABLE)
        p.guardian = (flags >> GUARDIAN_SHIFT) - 1
        p.checkin_ts = ts
        p.anchor = ts
        p.anchor_ord = self.ord
        p.lost_pending = True
        self._push_lost(ts + self.site.lost_after_ms, pid, p)
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_IN, role, sex, case, basis, arrived, limit, flags))
        self._arm_time_limit(pid, p)
        if self.site.meal_interval_ms > 0:
            p.meal_since = ts
            self._push(ts + self.site.meal_interval_ms, T_MEAL, pid, p.meal_gen)

    def _arm_time_limit(self, pid: int, p: _Person) -> None:
        deadline = p.arrived_ts + p.limit
        self._push(deadline - self.site.warn_before_ms, T_WARN, pid, p.time_gen)
        self._push(deadline, T_EXCEED, pid, p.time_gen)

    def _clear_time_alerts(self, pid: int, p: _Person, ts: int) -> None:
        if p.warn_raised >= 0:
            self._person_alert(p, ts, R_WARN, CLEARED, pid, p.zone, p.warn_raised)
            p.warn_raised = -1
        if p.exceeded_raised >= 0:
            self._person_alert(p, ts, R_EXCEEDED, CLEARED, pid, p.zone, p.exceeded_raised)
            p.exceeded_raised = -1
        p.time_gen += 1

    def _extend(self, ts: int, pid: int, limit: int) -> None:
        p = self.persons[pid]
        if limit == p.limit or p.decided >= 0:  # the tier in force, or the clock stopped by a decision
            return
        p.limit = limit
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_EXTENDED, p.role, p.sex, p.case, p.basis, p.arrived_ts, limit,
                         p.flags))
        if p.arrived_ts + limit > ts:  # a new limit already past changes no alert
            self._clear_time_alerts(pid, p, ts)
            self._arm_time_limit(pid, p)

    # ------------------------------------------------------------------ second layer

    def _leave(self, ts: int, pid: int, reason: int, until: int) -> None:
        """A temporary exit: location unknown without being lost, presence conditions and tag_lost
        cleared, the stay ended; time limits and meals keep running."""
        p = self.persons[pid]
        for c in range(N_COND):
            if p.cond_since[c] >= 0:
                self._end_condition(pid, p, c, ts)
        if p.lost >= 0:
            self._end_lost(pid, p, ts)
        p.lost_gen += 1
        p.lost_pending = False
        if p.zone >= 0:
            self._move(pid, p, -1, ts)
        p.away = True
        p.exits.append([ts, -1, reason, until])
        p.exit_gen += 1
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_LEAVE, p.role, p.sex, p.case, p.basis, p.arrived_ts, p.limit,
                         p.flags))
        self._push(until, T_TEMP_EXIT, pid, p.exit_gen)

    def _return(self, ts: int, pid: int) -> None:
        p = self.persons[pid]
        p.away = False
        p.exits[-1][1] = ts
        p.exit_gen += 1
        if p.exit_raised >= 0:
            self._person_alert(p, ts, R_TEMP_EXIT, CLEARED, pid, p.zone, p.exit_raised)
            p.exit_raised = -1
        p.noflow = True
        p.anchor = ts
        p.anchor_ord = self.ord
        p.lost_pending = True
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_RETURN, p.role, p.sex, p.case, p.basis, p.arrived_ts, p.limit,
                         p.flags))
        self._push_lost(ts + self.site.lost_after_ms, pid, p)

    def _decision(self, ts: int, pid: int, kind: int) -> None:
        p = self.persons[pid]
        p.decisions.append((ts, kind))
        if p.decided >= 0:  # a second decision does not re-arm the transfer deadline
            return
        p.decided = ts
        self._clear_time_alerts(pid, p, ts)
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_DECISION, p.role, p.sex, p.case, p.basis, p.arrived_ts,
                         p.limit, p.flags))
        self._push(ts + self.site.transfer_limit_ms, T_TRANSFER, pid, p.transfer_gen)

    def _welfare(self, ts: int, pid: int, kind: int) -> None:
        p = self.persons[pid]
        p.welfare.append((ts, kind))
        if kind != WELFARE_MEAL or self.site.meal_interval_ms <= 0:
            return
        if p.meal_raised >= 0:
            self._person_alert(p, ts, R_MEAL, CLEARED, pid, p.zone, p.meal_raised)
            p.meal_raised = -1
        p.meal_gen += 1
        p.meal_since = ts
        self._push(ts + self.site.meal_interval_ms, T_MEAL, pid, p.meal_gen)

    def _clear_second_layer(self, pid: int, p: _Person, ts: int) -> None:
        """Check-out: clear meal_overdue, transfer_overdue and temp_exit_overdue; void their timers."""
        if p.meal_raised >= 0:
            self._person_alert(p, ts, R_MEAL, CLEARED, pid, p.zone, p.meal_raised)
            p.meal_raised = -1
        if p.transfer_raised >= 0:
            self._person_alert(p, ts, R_TRANSFER, CLEARED, pid, p.zone, p.transfer_raised)
            p.transfer_raised = -1
        if p.exit_raised >= 0:
            self._person_alert(p, ts, R_TEMP_EXIT, CLEARED, pid, p.zone, p.exit_raised)
            p.exit_raised = -1
        p.meal_gen += 1
        p.transfer_gen += 1
        p.exit_gen += 1
        p.away = False

    def _checkout(self, rec: tuple) -> None:
        ts, _, pid, outcome, released_to, co_flags, reason = rec[:7]
        p = self.persons[pid]
        missing = self.site.required_mask & ~p.visited
        if missing:
            self._person_alert(p, ts, R_INCOMPLETE, RAISED, pid, p.zone, missing)
        if not co_flags & CO_BELONGINGS_KEPT:
            held = self.property.belongings_held(pid)
            if held:
                self._person_alert(p, ts, R_BELONGINGS, RAISED, pid, p.zone, -1, -1, held)
        if co_flags & CO_NIGHT_UNESCORTED:
            self._person_alert(p, ts, R_NIGHT, RAISED, pid, p.zone, outcome)
        p.outcome, p.released_to, p.belongings_reason = outcome, released_to, reason
        p.belongings = 1 if co_flags & CO_BELONGINGS_KEPT else 0
        for c in range(N_COND):
            if p.cond_since[c] >= 0:
                self._end_condition(pid, p, c, ts)
        if p.lost >= 0:
            self._end_lost(pid, p, ts)
        self._clear_time_alerts(pid, p, ts)
        self._clear_second_layer(pid, p, ts)
        p.lost_gen += 1
        p.lost_pending = False
        if p.zone >= 0:
            # Leave the zone as a subject (stay closed, case counts) before becoming nobody.
            self._move(pid, p, -1, ts)
        p.kind = KIND_OUT
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_OUT, p.role, p.sex, p.case, p.basis, p.arrived_ts, p.limit,
                         p.flags))
        self.out.append(self._trail(pid, p, ts, checked_out=True))

    def _trail(self, pid: int, p: _Person, now: int, checked_out: bool) -> tuple:
        stays = [(s[0], s[1], s[2], tuple(sorted(s[3])), s[4]) for s in p.stays]
        if p.stay is not None:
            s = p.stay
            unrec = s[4] + (now - s[5] if s[5] >= 0 else 0)
            stays.append((s[0], s[1], -1, tuple(sorted(s[3])), unrec))
        gaps = list(p.gaps)
        if p.gap_from >= 0:
            gaps.append((p.gap_from, -1))
        missing = self.site.required_mask & ~p.visited
        closed = checked_out and not p.ever_lost and missing == 0 and all(s[4] == 0 for s in stays)
        second = (tuple(tuple(e) for e in p.exits), tuple(p.welfare), p.outcome, p.released_to, tuple(p.decisions),
                  p.belongings, p.belongings_reason, p.minor, p.vulnerable, p.guardian)
        return (OUT_TRAIL, now, pid, p.checkin_ts, now if checked_out else -1, stays, missing, closed,
                p.ever_lost, gaps, list(p.alerts), p.case, p.basis, p.arrived_ts, p.limit, p.role, p.sex, second)

    # ------------------------------------------------------------------ cameras

    def _camera(self, ts: int, cam: int, state: int) -> None:
        if state == CAMERA_ONLINE:  # online changes nothing
            return
        recording = state == CAMERA_RECORDING
        if self.camera_rec[cam] == recording:
            return
        self.camera_rec[cam] = recording
        delta = 1 if recording else -1
        for zone in self.site.camera_zones[cam]:
            before = self.zone_rec_cams[zone]
            self.zone_rec_cams[zone] = before + delta
            if (before == 0) == (before + delta == 0) or not self.site.zone_requires_recording[zone]:
                continue
            stopped = before + delta == 0
            for sid in sorted(self.zone_subjects[zone]):
                stay = self.persons[sid].stay
                if stopped:
                    stay[5] = ts
                else:
                    stay[4] += ts - stay[5]
                    stay[5] = -1
            self._evaluate_zones(-1, zone, -1)
