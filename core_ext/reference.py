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

R = vocab.RULE_CODE
R_WARN, R_EXCEEDED = R["time_limit_warning"], R["time_limit_exceeded"]
R_UNACC, R_INSUFF, R_COSUS = R["unaccompanied"], R["insufficient_officers"], R["co_suspects_together"]
R_RECGAP, R_LOST, R_FLOW = R["recording_gap"], R["tag_lost"], R["flow_violation"]
R_INCOMPLETE, R_FEMALE = R["incomplete_exit"], R["female_search_without_female_officer"]
R_UNAUTH, R_MISMATCH, R_OVERDUE = R["locker_unauthorized_open"], R["item_mismatch"], R["item_overdue"]
R_SLOT_OPEN, R_DOOR_FORCED, R_DOOR_HELD = R["slot_left_open"], R["door_forced"], R["door_held_open"]
# Person conditions in evaluation order; index in this tuple = condition slot.
CONDITIONS = (R_UNACC, R_INSUFF, R_COSUS, R_RECGAP, R_FEMALE)
N_COND = len(CONDITIONS)

# Output tuple kinds.
OUT_ALERT, OUT_LOCATION, OUT_CUSTODY, OUT_TRAIL, OUT_ITEM_TRAIL = 0, 1, 2, 3, 4
CUSTODY_IN, CUSTODY_EXTENDED, CUSTODY_OUT = 0, 1, 2
RAISED, CLEARED = 1, 0

# Timer kinds.
T_LOST, T_COND, T_WARN, T_EXCEED, T_SLOT, T_DOOR, T_OVERDUE = 0, 1, 2, 3, 4, 5, 6

# Item trail event codes (formatted in core_ext/output.py).
IT_INTAKE, IT_WORKORDER, IT_OPEN, IT_WITHDRAWN, IT_RETURNED, IT_DISPOSED = 0, 1, 2, 3, 4, 5
IT_MISSING, IT_UNEXPECTED, IT_OVERDUE, IT_OVERDUE_CLEARED = 6, 7, 8, 9
# Item status.
ITEM_NONE, ITEM_IN, ITEM_OUT, ITEM_DISPOSED = 0, 1, 2, 3

KIND_NONE, KIND_STAFF, KIND_IN, KIND_OUT = 0, 1, 2, 3
ZT_SECURITY = vocab.ZONE_TYPE_CODE["security_check"]
ROLE_OFFICER = vocab.ROLE_OFFICER
SEX_F = vocab.SEX_F
W_WITHDRAW, W_RETURN, W_DISPOSE = 0, 1, 2


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


class _Slot:
    __slots__ = ("open", "open_ts", "gen", "left_raised", "ledger", "auth", "cover", "by")

    def __init__(self) -> None:
        self.open = False
        self.open_ts = 0
        self.gen = 0
        self.left_raised = -1
        self.ledger: set[int] = set()
        self.auth: list = []  # (valid_from, valid_until, workorder or -1 for intake, item, action, by)
        self.cover: list = []
        self.by = -1


class _Item:
    __slots__ = ("slot", "status", "gen", "overdue_raised", "due", "events", "seen")

    def __init__(self) -> None:
        self.slot = -1
        self.status = ITEM_NONE
        self.gen = 0
        self.overdue_raised = -1
        self.due = -1
        self.events: list = []
        self.seen = False


class ReferenceEngine:
    """feed(records) → output tuples; tick(now) → output tuples; finish(until) → final trails."""

    name = "reference"

    def __init__(self, site: SiteModel):
        self.site = site
        self.persons: list[_Person] = []
        self.items: list[_Item] = []
        nz = len(site.zone_ids)
        self.zone_members: list[set[int]] = [set() for _ in range(nz)]
        self.zone_subjects: list[set[int]] = [set() for _ in range(nz)]
        self.zone_officers = [0] * nz
        self.zone_female_staff = [0] * nz
        self.zone_case_count: list[dict[int, int]] = [{} for _ in range(nz)]
        self.zone_rec_cams = [0] * nz
        self.camera_rec = [False] * len(site.camera_ids)
        self.slots = [_Slot() for _ in range(site.slot_count)]
        nd = len(site.door_ids)
        self.door_open = [False] * nd
        self.door_open_ts = [0] * nd
        self.door_gen = [0] * nd
        self.door_held_raised = [-1] * nd
        self.bank_badge = [(-1, -1)] * len(site.bank_ids)  # (person, ts)
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
        for iid, item in enumerate(self.items):
            if item.seen:
                out.append((OUT_ITEM_TRAIL, now, iid, list(item.events), item.status == ITEM_DISPOSED))
        return out

    # ------------------------------------------------------------------ plumbing

    def _person(self, pid: int) -> _Person:
        persons = self.persons
        while len(persons) <= pid:
            persons.append(_Person())
        return persons[pid]

    def _item(self, iid: int) -> _Item:
        items = self.items
        while len(items) <= iid:
            items.append(_Item())
        item = items[iid]
        item.seen = True
        return item

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
            self._door(rec[0], rec[2], rec[3])
        elif etype == E_BADGE:
            if rec[3] >= 0:
                self.bank_badge[rec[3]] = (rec[2], rec[0])
        elif etype == E_INTAKE:
            self._intake(rec)
        elif etype == E_WORKORDER:
            self._workorder(rec)
        elif etype == E_LOCKER:
            self._locker(rec[0], rec[2], rec[3], rec[10])

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
            self._person_alert(p, ts, R_LOST, CLEARED, pid, p.last_zone, p.lost)
            p.lost = -1
            if p.gap_from >= 0:
                p.gaps.append((p.gap_from, ts))
                p.gap_from = -1
        if not p.lost_pending:
            p.lost_pending = True
            self._push(ts + self.site.lost_after_ms, T_LOST, pid, p.lost_gen)
        if p.zone != zone:
            self._move(pid, p, zone, ts)

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
        done: set[int] = set()
        if mover >= 0:
            done.add(mover)
            self._evaluate(mover)
        for zone in (old, new):
            if zone >= 0:
                for sid in sorted(self.zone_subjects[zone]):
                    if sid not in done:
                        done.add(sid)
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
        elif kind == T_SLOT:
            s = self.slots[ident]
            if gen == s.gen and s.open:
                s.left_raised = ts
                self._alert(ts, R_SLOT_OPEN, RAISED, ident, self._slot_zone(ident), s.open_ts)
        elif kind == T_DOOR:
            if gen == self.door_gen[ident] and self.door_open[ident]:
                self.door_held_raised[ident] = ts
                self._alert(ts, R_DOOR_HELD, RAISED, ident, self._door_zone(ident), self.door_open_ts[ident])
        elif kind == T_OVERDUE:
            item = self.items[ident]
            if gen == item.gen and item.status == ITEM_OUT:
                item.overdue_raised = ts
                item.events.append((ts, IT_OVERDUE, item.due))
                self._alert(ts, R_OVERDUE, RAISED, ident, self._slot_zone(item.slot), item.due, item.slot)

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
            self._person_alert(p, ts, R_LOST, CLEARED, pid, p.last_zone, p.lost)
            p.lost = -1
            if p.gap_from >= 0:
                p.gaps.append((p.gap_from, ts))
                p.gap_from = -1
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

    # ------------------------------------------------------------------ cameras and doors

    def _camera(self, ts: int, cam: int, state: int) -> None:
        if state == 3:  # online: changes nothing
            return
        recording = state == 0
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

    def _door(self, ts: int, door: int, state: int) -> None:
        if state == 2:  # forced
            self._alert(ts, R_DOOR_FORCED, RAISED, door, self._door_zone(door))
        if state == 1:  # closed
            if self.door_open[door]:
                self.door_open[door] = False
                self.door_gen[door] += 1
                if self.door_held_raised[door] >= 0:
                    self._alert(ts, R_DOOR_HELD, CLEARED, door, self._door_zone(door), self.door_held_raised[door])
                    self.door_held_raised[door] = -1
        elif not self.door_open[door]:
            self.door_open[door] = True
            self.door_open_ts[door] = ts
            self._push(ts + self.site.door_open_max_ms, T_DOOR, door, self.door_gen[door])

    def _door_zone(self, door: int) -> int:
        zone = self.site.config.doors[door].zone
        return -1 if zone is None else self.site.zone_index[zone]

    def _slot_zone(self, slot: int) -> int:
        if slot < 0:
            return -1
        zone = self.site.config.lockers[self.site.slot_bank[slot]].zone
        return -1 if zone is None else self.site.zone_index[zone]

    # ------------------------------------------------------------------ lockers

    def _intake(self, rec: tuple) -> None:
        ts, _, iid, case, slot, by = rec[:6]
        item = self._item(iid)
        if item.slot >= 0 and item.slot != slot:
            self.slots[item.slot].ledger.discard(iid)
        item.slot = slot
        item.status = ITEM_IN
        s = self.slots[slot]
        s.ledger.add(iid)
        s.auth.append((ts, ts + self.site.intake_window_ms, -1, iid, -1, by, -1))
        item.events.append((ts, IT_INTAKE, slot, case, by))

    def _workorder(self, rec: tuple) -> None:
        ts, _, wo, iid, slot, action, by, valid_from, valid_until, due, _ = rec
        item = self._item(iid)
        self.slots[slot].auth.append((valid_from, valid_until, wo, iid, action, by, due))
        item.events.append((ts, IT_WORKORDER, wo, action, slot, valid_from, valid_until, due, by))

    def _locker(self, ts: int, slot: int, state: int, items: tuple | None) -> None:
        s = self.slots[slot]
        if state == 0:  # open
            if s.open:
                return
            s.open = True
            s.open_ts = ts
            s.cover = [a for a in s.auth if a[0] <= ts <= a[1]]
            bank = self.site.slot_bank[slot]
            badge_person, badge_ts = self.bank_badge[bank]
            if badge_person >= 0 and ts - badge_ts <= self.site.intake_window_ms:
                s.by = badge_person
            else:
                s.by = s.cover[0][5] if s.cover else -1
            if not s.cover:
                self._alert(ts, R_UNAUTH, RAISED, slot, self._slot_zone(slot))
            for iid in sorted(s.ledger | {a[3] for a in s.cover}):
                if self.items[iid].status == ITEM_DISPOSED:
                    continue
                wo = next((a[2] for a in s.cover if a[3] == iid), -1)
                self.items[iid].events.append((ts, IT_OPEN, slot, wo, s.by))
            self._push(ts + self.site.slot_open_max_ms, T_SLOT, slot, s.gen)
            return
        if not s.open:
            return
        s.open = False
        s.gen += 1
        if s.left_raised >= 0:
            self._alert(ts, R_SLOT_OPEN, CLEARED, slot, self._slot_zone(slot), s.left_raised)
            s.left_raised = -1
        if items is None:
            return
        sensed = set(items)
        ledger = s.ledger
        for a in s.cover:
            if a[2] < 0:
                continue
            iid, action = a[3], a[4]
            item = self.items[iid]
            if action == W_WITHDRAW and iid in ledger and iid not in sensed:
                ledger.discard(iid)
                item.status = ITEM_OUT
                item.due = a[6]
                item.events.append((ts, IT_WITHDRAWN, slot, a[2]))
                if a[6] >= 0:
                    self._push(a[6], T_OVERDUE, iid, item.gen)
            elif action == W_RETURN and iid in sensed and iid not in ledger:
                ledger.add(iid)
                if item.slot >= 0 and item.slot != slot:
                    self.slots[item.slot].ledger.discard(iid)
                item.slot = slot
                item.status = ITEM_IN
                item.gen += 1
                item.events.append((ts, IT_RETURNED, slot, a[2]))
                if item.overdue_raised >= 0:
                    item.events.append((ts, IT_OVERDUE_CLEARED, item.due))
                    self._alert(ts, R_OVERDUE, CLEARED, iid, self._slot_zone(slot), item.overdue_raised)
                    item.overdue_raised = -1
            elif action == W_DISPOSE and iid in ledger and iid not in sensed:
                ledger.discard(iid)
                item.status = ITEM_DISPOSED
                item.slot = -1
                item.gen += 1
                item.events.append((ts, IT_DISPOSED, slot, a[2]))
        missing = tuple(sorted(ledger - sensed))
        unexpected = tuple(sorted(sensed - ledger))
        if missing or unexpected:
            self._alert(ts, R_MISMATCH, RAISED, slot, self._slot_zone(slot), -1, -1, missing, unexpected)
            for iid in missing:
                self._item(iid).events.append((ts, IT_MISSING, slot))
            for iid in unexpected:
                self._item(iid).events.append((ts, IT_UNEXPECTED, slot))
