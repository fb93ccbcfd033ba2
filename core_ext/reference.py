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
"""
from __future__ import annotations

import heapq

from core_ext import vocab
from core_ext.events import (
    E_BADGE, E_CAMERA, E_CHECKIN, E_CHECKOUT, E_DOOR, E_ENROLL, E_EXTEND, E_INTAKE, E_LOCKER,
    E_TAG, E_WORKORDER,
)
from core_ext.site import SiteModel

from core_ext.codes import (  # noqa: F401  (re-exported for the compiled core and tests)
    CLEARED, CONDITIONS, CUSTODY_EXTENDED, CUSTODY_IN, CUSTODY_OUT, KIND_IN, KIND_NONE, KIND_OUT,
    KIND_STAFF, N_COND, OUT_ALERT, OUT_CUSTODY, OUT_LOCATION, OUT_TRAIL, R_COSUS, R_EXCEEDED, R_FLOW,
    R_INCOMPLETE, R_INSUFF, R_LOST, R_WARN, RAISED, ROLE_OFFICER, SEX_F, T_COND, T_EXCEED, T_LOST,
    T_WARN, ZT_SECURITY, CAMERA_ONLINE, CAMERA_RECORDING,
)
from core_ext.property import PropertyLedger


class _Person:
    __slots__ = (
        "kind", "role", "sex", "zone", "last_zone", "anchor", "last_read", "lost_pending", "lost_gen",
        "lost", "ever_lost", "checkin_ts", "arrived_ts", "basis", "case", "limit", "time_gen",
        "warn_raised", "warn_ts", "exceeded_raised", "exceeded_ts", "cond_since", "cond_raised",
        "cond_gen", "cond_zone", "visited", "stays", "stay", "gaps", "gap_from", "alerts", "flags",
    )

    def __init__(self) -> None:
        self.kind = KIND_NONE
        self.role = 0
        self.sex = 0
        self.zone = -1
        self.last_zone = -1
        self.anchor = 0
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
        self.zone_rec_cams = [0] * nz
        self.camera_rec = [False] * len(site.camera_ids)
        self.property = PropertyLedger(site, self._push, self._alert)
        self.heap: list = []
        self.seq = 0
        self.now = 0
        self.out: list = []
        self.events_seen = 0

    # ------------------------------------------------------------------ public API

    def feed(self, records: list[tuple]) -> list:
        out = self.out = []
        for rec in records:
            ts = rec[0]
            self._run_timers(ts, inclusive=False)
            self.now = ts
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
        """The engine's state as plain picklable objects (no site, no callbacks)."""
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

    def _push(self, deadline: int, kind: int, ident: int, gen: int) -> None:
        if deadline < self.now:
            deadline = self.now
        self.seq += 1
        heapq.heappush(self.heap, (deadline, self.seq, kind, ident, gen))

    def _run_timers(self, limit: int, inclusive: bool) -> None:
        heap = self.heap
        while heap and (heap[0][0] < limit or inclusive and heap[0][0] == limit):
            deadline, _, kind, ident, gen = heapq.heappop(heap)
            self.now = deadline
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
            self._checkout(rec[0], rec[2])
        elif etype == E_ENROLL:
            p = self._person(rec[2])
            p.kind = KIND_STAFF
            self._set_staff_role(rec[2], p, rec[3], rec[4])
        elif etype == E_EXTEND:
            self._extend(rec[0], rec[2], rec[8])
        elif etype == E_DOOR:
            self.property.door(rec[0], rec[2], rec[3])
        elif etype == E_BADGE:
            self.property.badge(rec[0], rec[2], rec[3])
        elif etype == E_INTAKE:
            self.property.intake(rec[0], rec[2], rec[3], rec[4], rec[5])
        elif etype == E_WORKORDER:
            ts, _, wo, iid, slot, action, by, valid_from, valid_until, due, _ = rec
            self.property.workorder(ts, wo, iid, slot, action, by, valid_from, valid_until, due)
        elif etype == E_LOCKER:
            self.property.locker(rec[0], rec[2], rec[3], rec[10])

    def _set_staff_role(self, pid: int, p: _Person, role: int, sex: int) -> None:
        # Re-enrolment may change role or sex while the person stands in a zone.
        zone = p.zone
        if zone >= 0:
            self._leave_counts(p, zone)
        p.role, p.sex = role, sex
        if zone >= 0:
            self._enter_counts(pid, p, zone)
            self._evaluate_zones(-1, zone, -1)

    # ------------------------------------------------------------------ location

    def _tag_seen(self, ts: int, pid: int, zone: int) -> None:
        p = self.persons[pid]
        p.last_read = ts
        p.anchor = ts
        if p.lost >= 0:
            self._end_lost(pid, p, ts)
        if not p.lost_pending:
            p.lost_pending = True
            self._push(ts + self.site.lost_after_ms, T_LOST, pid, p.lost_gen)
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
                self._close_stay(p, ts)
            else:
                self._leave_counts(p, old)
        p.zone = zone
        self.out.append((OUT_LOCATION, ts, pid, zone, old))
        if zone >= 0:
            self.zone_members[zone].add(pid)
            if subject:
                site = self.site
                if (site.flow_allowed is not None and p.last_zone >= 0 and p.last_zone != zone
                        and (p.last_zone, zone) not in site.flow_allowed):
                    self._person_alert(p, ts, R_FLOW, RAISED, pid, zone, p.last_zone, zone)
                p.last_zone = zone
                self.zone_subjects[zone].add(pid)
                counts = self.zone_case_count[zone]
                counts[p.case] = counts.get(p.case, 0) + 1
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
        return [
            officers == 0,
            site.zone_min_officers[zone] > 1 and 0 < officers < site.zone_min_officers[zone],
            site.zone_separate[zone] and self.zone_case_count[zone].get(p.case, 0) > 1,
            site.zone_requires_recording[zone] and self.zone_rec_cams[zone] == 0,
            p.sex == SEX_F and site.zone_type[zone] == ZT_SECURITY and self.zone_female_staff[zone] == 0,
        ]

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
        p.cond_raised[c] = ts
        p.cond_zone[c] = zone
        self._person_alert(p, ts, rule, RAISED, pid, zone, n1, n2, others)

    # ------------------------------------------------------------------ timers

    def _fire(self, ts: int, kind: int, ident: int, gen: int) -> None:
        if kind == T_LOST:
            p = self.persons[ident]
            if gen != p.lost_gen:
                return
            real = p.anchor + self.site.lost_after_ms
            if real > ts:
                self._push(real, T_LOST, ident, gen)
                return
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
        self.persons[pid] = p = fresh
        p.kind = KIND_IN
        p.role, p.sex, p.basis, p.case = role, sex, basis, case
        p.arrived_ts, p.limit, p.flags = arrived, limit, flags
        p.checkin_ts = ts
        p.anchor = ts
        p.lost_pending = True
        self._push(ts + self.site.lost_after_ms, T_LOST, pid, p.lost_gen)
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_IN, role, sex, case, basis, arrived, limit))
        self._arm_time_limit(pid, p)

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
        if limit == p.limit:
            return
        self._clear_time_alerts(pid, p, ts)
        p.limit = limit
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_EXTENDED, p.role, p.sex, p.case, p.basis, p.arrived_ts, limit))
        self._arm_time_limit(pid, p)

    def _checkout(self, ts: int, pid: int) -> None:
        p = self.persons[pid]
        missing = self.site.required_mask & ~p.visited
        if missing:
            self._person_alert(p, ts, R_INCOMPLETE, RAISED, pid, p.zone, missing)
        for c in range(N_COND):
            if p.cond_since[c] >= 0:
                self._end_condition(pid, p, c, ts)
        if p.lost >= 0:
            self._end_lost(pid, p, ts)
        self._clear_time_alerts(pid, p, ts)
        p.lost_gen += 1
        p.lost_pending = False
        if p.zone >= 0:
            # Leave the zone as a subject (stay closed, case counts) before becoming nobody.
            self._move(pid, p, -1, ts)
        p.kind = KIND_OUT
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_OUT, p.role, p.sex, p.case, p.basis, p.arrived_ts, p.limit))
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
        return (OUT_TRAIL, now, pid, p.checkin_ts, now if checked_out else -1, stays, missing, closed,
                p.ever_lost, gaps, list(p.alerts), p.case, p.basis, p.arrived_ts, p.limit, p.role, p.sex)

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
