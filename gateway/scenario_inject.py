"""Violations injected into a scenario day, one per rule id of DESIGN §3.

Part of the scenario generator (gateway/scenario.py). Each injection edits the clean plan at
the phase where it belongs (before scheduling, on group itineraries, on individual moves, on
locker work, on cameras, on doors) and records the alerts it must cause, with the exact
timestamp the engine raises them at. Times are computed from the final plan (closures run at
the end), because later phases may still shift an offset (e.g. an escort grows by one officer).

Each injection picks its own subject, slot or door, never one another injection already uses,
so their alerts do not mask each other. When the site cannot host an injection (no flow for a
flow violation, no lockers for a slot rule) it raises ScenarioError saying why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core_ext import vocab
from gateway.scenario_devices import (
    WORKORDER_OPEN_AFTER_MS, Cameras, DoorCycle, LockerOp, authorised,
)
from gateway.scenario_people import GROUP_STEP_MS, MIN, Subject, detour, zone_at
from gateway.scenario_route import ScenarioError

HOLD_MS = 60_000          # how long past the grace an injected condition lasts
SETTLE_MS = 30_000        # a group settles this long in a room before anything happens
TRAVEL_HOP_MS = 15_000
LINGER_MS = 20 * 60_000   # longest a group waits in a corridor for an injected co-suspect meeting

PHASES = ("draw", "groups", "persons", "lockers", "cameras", "doors")


@dataclass(frozen=True)
class ExpectedAlert:
    """An alert the engine must raise because of an injection."""

    rule: str
    subject: str            # person id, item id, `<bank>/<slot>` or door id (DESIGN §6.2)
    ts: int                 # when it is raised
    injected: str           # the injection that causes it
    cleared_ts: int | None  # when it is cleared, if the injection ends the condition; else None


class Injector:
    """Applies the requested injections to a Day (see gateway/scenario.py) phase by phase."""

    def __init__(self, day, rules: list[str]):
        self.day = day
        self.rules = rules
        self.used: set[str] = set()
        self.co_pair: set[str] = set()   # the co-suspects brought in together for that injection
        self._expect: list[Callable[[], ExpectedAlert]] = []

    def run(self, phase: str) -> None:
        for rule in self.rules:
            fn = getattr(self, f"_{phase}_{rule}", None)
            if fn is not None:
                fn(rule)

    def expected(self) -> list[ExpectedAlert]:
        return sorted((f() for f in self._expect), key=lambda e: (e.ts, e.rule, e.subject))

    def expect(self, make: Callable[[], ExpectedAlert]) -> None:
        self._expect.append(make)

    # ------------------------------------------------------------------ helpers

    def grace(self, rule: str) -> int:
        return self.day.model.grace_ms[vocab.RULE_CODE[rule]]

    def subjects(self, rule: str) -> list[Subject]:
        subjects = [s for s in self.day.subjects if s.id not in self.used]
        if not subjects:
            kind = self.day.cfg.site.kind
            raise ScenarioError(f"cannot inject {rule}: no subject left to use"
                                + (" (a property room has no subjects)" if kind == "property_room" else
                                   "; generate more subjects"))
        return subjects

    def pick(self, rule: str, candidates: list, why: str):
        if not candidates:
            raise ScenarioError(f"cannot inject {rule}: {why}")
        return candidates[int(self.day.rng.random() * len(candidates))]

    def long_stays(self, rule: str, need_ms: int, ok: Callable[[Subject, str], bool]):
        """(subject, zone, enter, leave) of station stays at least need_ms long."""
        out = []
        graph = self.day.graph
        for s in self.subjects(rule):
            for zone, enter, leave in s.stays():
                if graph.is_station(zone) and leave - enter >= need_ms and ok(s, zone):
                    out.append((s, zone, enter, leave))
        return out

    def no_staff(self, zone: str) -> bool:
        return all(p.moves[0][1] != zone for p in self.day.planner.stationed)

    # ------------------------------------------------------------------ draw phase

    def _draw_female_search_without_female_officer(self, rule: str) -> None:
        if "security_check" not in self.day.graph.by_type:
            raise ScenarioError(f"cannot inject {rule}: the site has no security_check zone with a reader")
        subjects = self.subjects(rule)
        women = [s for s in subjects if s.sex == "F"]
        s = women[0] if women else subjects[len(subjects) // 2]
        s.sex = "F"
        s.female_escort = False
        self.used.add(s.id)

        def make() -> ExpectedAlert:
            stay = next(((z, a, b) for z, a, b in s.stays() if self.day.graph.zone_type[z] == "security_check"), None)
            if stay is None:
                raise ScenarioError(f"cannot inject {rule}: {s.id} never reaches the security check")
            z, a, b = stay
            if b - a <= self.grace(rule) or not self.no_staff(z):
                raise ScenarioError(f"cannot inject {rule}: the search of {s.id} in {z} is too short or staffed")
            return ExpectedAlert(rule, s.id, a + s.offset + self.grace(rule), rule, b + s.offset)
        self.expect(make)

    def _draw_co_suspects_together(self, rule: str) -> None:
        """Make sure two subjects of one case are brought in together (a few minutes apart)."""
        subjects = self.subjects(rule)
        by_case: dict[str, list[Subject]] = {}
        for s in subjects:
            by_case.setdefault(s.case, []).append(s)
        for members in by_case.values():
            close = [(x, y) for x in members for y in members if 0 < y.arrival - x.arrival <= 15 * MIN]
            if close:
                # keep them for this injection: other injections pick their subjects later
                self.co_pair = {close[0][0].id, close[0][1].id}
                self.used.update(self.co_pair)
                return
        if len(subjects) < 2:
            raise ScenarioError(f"cannot inject {rule}: it needs two subjects of one case; generate more subjects")
        a, b = subjects[0], subjects[1]
        a.role = b.role = "suspect"
        b.case = a.case
        b.arrived_ts += a.arrival + 8 * MIN - b.arrival
        b.arrival = a.arrival + 8 * MIN
        self.day.subjects.sort(key=lambda s: (s.arrival, s.id))
        self.co_pair = {a.id, b.id}
        self.used.update(self.co_pair)

    # ------------------------------------------------------------------ group phase

    def _groups_time_limit_warning(self, rule: str) -> None:
        s = self.pick(rule, self.subjects(rule), "no subject")
        self.used.add(s.id)
        s.extend = False  # the limit that applies is the ordinary one
        m = self.day.model
        limit = m.basis_limit_ms[vocab.BASIS_CODE[s.basis]]
        warn = m.warn_before_ms
        stay = s.checkout_ts - s.checkin_ts
        lead = min(stay // 2, warn // 2, 30 * MIN)
        if warn < 2 * MIN or lead < MIN:
            raise ScenarioError(f"cannot inject {rule}: warn_before of {warn} ms leaves no room for a warning "
                                "that is not also an excess")
        warning_at = s.checkout_ts - lead
        s.arrived_ts = warning_at - (limit - warn)
        self.expect(lambda: ExpectedAlert(rule, s.id, warning_at, rule, s.checkout_ts))

    def _groups_time_limit_exceeded(self, rule: str) -> None:
        s = self.pick(rule, self.subjects(rule), "no subject")
        self.used.add(s.id)
        s.extend = False  # the limit that applies is the ordinary one
        m = self.day.model
        limit = m.basis_limit_ms[vocab.BASIS_CODE[s.basis]]
        stay = s.checkout_ts - s.checkin_ts
        exceed_at = s.checkout_ts - min(stay // 3, 20 * MIN)
        s.arrived_ts = exceed_at - limit
        warning_at = max(s.checkin_ts, exceed_at - m.warn_before_ms)
        self.expect(lambda: ExpectedAlert("time_limit_warning", s.id, warning_at, rule, exceed_at))
        self.expect(lambda: ExpectedAlert(rule, s.id, exceed_at, rule, s.checkout_ts))

    def _groups_flow_violation(self, rule: str) -> None:
        graph = self.day.graph
        if graph.succ is None:
            raise ScenarioError(f"cannot inject {rule}: the site has no flow, so every move is allowed")
        candidates = []
        for s in self.subjects(rule):
            for i in range(1, len(s.legs) - 1):
                x, c, y = s.legs[i - 1][0], s.legs[i][0], s.legs[i + 1][0]
                if not graph.is_station(c) and x != y and not graph.allowed(x, y) and graph.is_station(x):
                    candidates.append((s, i))
        s, i = self.pick(rule, candidates, "no route passes through a zone that can be skipped")
        self.used.add(s.id)
        del s.legs[i]
        self.expect(lambda: ExpectedAlert(rule, s.id, s.legs[i][1] + s.offset, rule, None))

    def _groups_incomplete_exit(self, rule: str) -> None:
        required = set(self.day.cfg.required_steps)
        if not required:
            raise ScenarioError(f"cannot inject {rule}: the site has no required_steps")
        candidates = []
        for s in self.subjects(rule):
            first = next((i for i, (z, _) in enumerate(s.legs) if self.day.graph.zone_type[z] in required), None)
            if first is not None and first >= 1:
                candidates.append((s, first))
        s, first = self.pick(rule, candidates, "no subject's route starts before a required step")
        self.used.add(s.id)
        # released from the previous room, never searched / registered
        s.leave = s.legs[first][1]
        del s.legs[first:]
        self.expect(lambda: ExpectedAlert(rule, s.id, s.checkout_ts, rule, None))

    def _groups_co_suspects_together(self, rule: str) -> None:
        """Co-suspect B is walked into the separating room where A is, for grace + HOLD_MS.

        Preferred: from a room B stays in at that moment, and back to it. Otherwise: on B's
        way out (after B's last room, lingering at most LINGER_MS in the corridor), then on to
        the exit; only B's checkout moves, so no room booking of anyone else changes."""
        day = self.day
        graph, cfg = day.graph, day.graph.zone_cfg
        hold = self.grace(rule) + HOLD_MS
        by_case: dict[str, list[Subject]] = {}
        for s in self.day.subjects:
            if s.id not in self.used or s.id in self.co_pair:
                by_case.setdefault(s.case, []).append(s)
        pairs = []
        for members in by_case.values():
            for a in members:
                for b in members:
                    if a is not b:
                        for z, a0, a1 in a.stays():
                            if graph.is_station(z) and cfg[z].effective_separate:
                                pairs.append((a, b, z, a0, a1))
        candidates = []
        for a, b, z, a0, a1 in pairs:
            for y, b0, b1 in b.stays():
                plan = self._detour_plan(y, b0, b1, z, a0, a1, hold)
                if plan is not None:
                    candidates.append((a, b, y, b0, z, plan))
        if candidates:
            a, b, y, b0, z, (t_leave, t_enter, t_back, hops_to, hops_back) = self.pick(rule, candidates, "")
            idx = b.legs.index((y, b0))
            inserted = _walk(hops_to, t_leave) + [(z, t_enter)] + _walk(hops_back, t_back)
            inserted.append((y, t_back + TRAVEL_HOP_MS * len(hops_back)))
            b.legs[idx + 1:idx + 1] = inserted
        else:
            exits = [(a, b, z, plan) for a, b, z, a0, a1 in pairs
                     for plan in [self._exit_detour_plan(b, z, a0, a1, hold)] if plan is not None]
            a, b, z, (idx, legs, leave, t_enter, t_back) = self.pick(
                rule, exits, "no two subjects of one case are on site at the same time long enough")
            b.legs[idx + 1:] = legs
            b.leave = leave
        self.used.update((a.id, b.id))
        for who in (a, b):
            self.expect(lambda who=who: ExpectedAlert(rule, who.id, t_enter + b.offset + self.grace(rule), rule,
                                                      t_back + b.offset))

    def _exit_detour_plan(self, b: Subject, z: str, a0: int, a1: int, hold: int):
        graph = self.day.graph
        exit_zone = self.day.planner.template.exit
        stations = [i for i, (zone, _) in enumerate(b.legs) if graph.is_station(zone)]
        if exit_zone is None or not stations:
            return None
        idx = stations[-1]
        y, b1 = b.legs[idx][0], b.legs[idx + 1][1] if idx + 1 < len(b.legs) else b.leave
        to, out = graph.path(y, z), graph.path(z, exit_zone)
        if y == z or to is None or out is None or len(to) < 3:
            return None
        hops_to, hops_out = list(to[1:-1]), list(out[1:-1])
        t_enter = max(b1 + TRAVEL_HOP_MS * len(hops_to), a0 + SETTLE_MS)
        linger = t_enter - b1 - TRAVEL_HOP_MS * len(hops_to)
        t_back = t_enter + hold
        if linger > LINGER_MS or t_back + MIN > a1:
            return None
        # linger in the first hop (a corridor), then walk on
        legs = [(hops_to[0], b1)] + _walk(hops_to[1:], b1 + linger + TRAVEL_HOP_MS) + [(z, t_enter)]
        legs += _walk(hops_out, t_back)
        t_exit = t_back + TRAVEL_HOP_MS * len(hops_out)
        legs.append((exit_zone, t_exit))
        leave = t_exit + 45_000
        if leave + b.offset > self.day.planner.budget_end(b):
            return None
        return idx, legs, leave, t_enter, t_back

    def _detour_plan(self, y: str, b0: int, b1: int, z: str, a0: int, a1: int, hold: int):
        graph = self.day.graph
        if y == z or not graph.is_station(y):
            return None
        to, back = graph.path(y, z), graph.path(z, y)
        if to is None or back is None:
            return None
        hops_to, hops_back = list(to[1:-1]), list(back[1:-1])
        t_leave = max(b0 + SETTLE_MS, a0 + SETTLE_MS - TRAVEL_HOP_MS * len(hops_to))
        t_enter = t_leave + TRAVEL_HOP_MS * len(hops_to)
        t_back = t_enter + hold
        t_return = t_back + TRAVEL_HOP_MS * len(hops_back)
        if t_enter < a0 + SETTLE_MS or t_back + MIN > a1 or t_return + SETTLE_MS > b1:
            return None
        return t_leave, t_enter, t_back, hops_to, hops_back

    # ------------------------------------------------------------------ person phase

    def _escorts_step_out(self, rule: str, s: Subject, zone: str, enter: int, leaving: list) -> tuple[int, int]:
        """Escorts in `leaving` go to a neighbouring zone for grace + HOLD_MS, then come back."""
        graph = self.day.graph
        exit_zone = self.day.planner.template.exit
        walk = graph.path(zone, exit_zone) if exit_zone else None
        elsewhere = walk[1] if walk and len(walk) > 1 else next(z for z in graph.located if z != zone)
        t = enter + SETTLE_MS
        t_back = t + self.grace(rule) + HOLD_MS
        for officer in leaving:
            j = s.escorts.index(officer)
            detour(officer.moves, t + j * GROUP_STEP_MS, t_back + j * GROUP_STEP_MS, elsewhere)
        return t, t_back

    def _persons_unaccompanied(self, rule: str) -> None:
        need = self.grace(rule) + HOLD_MS + 3 * SETTLE_MS
        types = self.day.graph.zone_type
        stays = self.long_stays(rule, need, lambda s, z: types[z] != "security_check" and self.no_staff(z))
        waiting = [c for c in stays if types[c[1]] == "waiting"]
        s, zone, enter, _ = self.pick(rule, waiting or stays, "no subject stays long enough in an unstaffed room")
        self.used.add(s.id)
        t, t_back = self._escorts_step_out(rule, s, zone, enter, list(s.escorts))
        last_out = t + (len(s.escorts) - 1) * GROUP_STEP_MS
        self.expect(lambda: ExpectedAlert(rule, s.id, last_out + self.grace(rule), rule, t_back))

    def _persons_insufficient_officers(self, rule: str) -> None:
        need = self.grace(rule) + HOLD_MS + 3 * SETTLE_MS
        cfg = self.day.graph.zone_cfg
        stays = self.long_stays(rule, need, lambda s, z: cfg[z].effective_min_officers >= 2
                                and s.team_size >= 2 and self.no_staff(z))
        s, zone, enter, _ = self.pick(rule, stays, "no subject stays long enough in a two-officer room")
        self.used.add(s.id)
        leaving = s.escorts[1:]
        t, t_back = self._escorts_step_out(rule, s, zone, enter, leaving)
        # escorts leave (and come back) in order, GROUP_STEP_MS apart: the room is short of
        # officers once k - m + 1 have left, and full again once m - 1 are back
        need = cfg[zone].effective_min_officers
        short_from = t + (len(s.escorts) - need + 1) * GROUP_STEP_MS
        full_again = t_back + (need - 1) * GROUP_STEP_MS
        self.expect(lambda: ExpectedAlert(rule, s.id, short_from + self.grace(rule), rule, full_again))

    def _persons_tag_lost(self, rule: str) -> None:
        lost = self.day.model.lost_after_ms
        stays = self.long_stays(rule, lost + HOLD_MS + 3 * SETTLE_MS, lambda s, z: True)
        s, zone, enter, _ = self.pick(rule, stays, "no subject stays long enough in one room")
        self.used.add(s.id)
        last_read = enter + s.offset + SETTLE_MS
        back = last_read + lost + HOLD_MS
        idx, here = zone_at(s.moves, last_read)
        if here != zone or moves_between(s.moves, idx, back):
            raise ScenarioError(f"internal: {s.id} is not in {zone} for the whole silence")
        # one read exactly at last_read, then the wristband goes silent until `back`
        s.moves[idx + 1:idx + 1] = [(last_read, zone), (last_read + 1, None), (back, zone)]
        self.expect(lambda: ExpectedAlert(rule, s.id, last_read + lost, rule, back))

    # ------------------------------------------------------------------ locker phase

    def slots_in_use(self) -> dict[str, list[LockerOp]]:
        by_slot: dict[str, list[LockerOp]] = {}
        for op in self.day.ops:
            by_slot.setdefault(op.slot_name, []).append(op)
        return by_slot

    def require_lockers(self, rule: str) -> None:
        if not self.day.cfg.lockers:
            raise ScenarioError(f"cannot inject {rule}: the site has no lockers")

    def _lockers_locker_unauthorized_open(self, rule: str) -> None:
        self.require_lockers(rule)
        day = self.day
        by_slot = self.slots_in_use()
        window = day.model.intake_window_ms
        mid = day.start + (day.end - day.start) // 2
        offsets = [k * 10 * MIN * sign for k in range(0, 200) for sign in (1, -1)]
        for bank in day.cfg.lockers:
            for number in range(1, bank.slots + 1):
                name = f"{bank.id}/{number}"
                if name in self.used:
                    continue
                ops = by_slot.get(name, [])
                for off in offsets:
                    t = mid + off
                    if not day.start + 10 * MIN < t < day.end - 10 * MIN:
                        continue
                    if authorised(ops, bank.id, number, t, window) or any(
                            op.open_ts - MIN < t + 20_000 and t - MIN < op.close_ts for op in ops):
                        continue
                    by = (day.planner.stationed + day.custodians + day.planner.officers)[0]
                    day.ops.append(LockerOp(bank.id, number, "peek", [], "", by, t - 5_000, t, t + 15_000))
                    self.used.add(name)
                    self.expect(lambda name=name, t=t: ExpectedAlert(rule, name, t, rule, None))
                    return
        raise ScenarioError(f"cannot inject {rule}: every slot is covered by an intake or work order all day")

    def _lockers_item_mismatch(self, rule: str) -> None:
        self.require_lockers(rule)
        by_slot = self.slots_in_use()
        candidates = [name for name in sorted(by_slot) if name not in self.used]
        name = self.pick(rule, candidates, "no slot sees any locker work this day (no subject reaches a room with a bank; add subjects)")
        self.used.add(name)
        last = max(by_slot[name], key=lambda op: op.close_ts)
        last.extra_sensed.append(f"unknown-{name.replace('/', '-')}")
        self.expect(lambda: ExpectedAlert(rule, name, last.close_ts, rule, None))

    def _lockers_item_overdue(self, rule: str) -> None:
        self.require_lockers(rule)
        day = self.day
        by_slot = self.slots_in_use()
        withdraws = [op for op in day.ops if op.kind == "withdraw" and op.slot_name not in self.used]
        if withdraws:
            op = self.pick(rule, withdraws, "")
            item = op.items[0]
            day.ops[:] = [o for o in day.ops if not (o.open_ts > op.open_ts and o.items and item in o.items)]
        else:
            op = self._belongings_withdraw(rule, by_slot)
            item = op.items[0]
        self.used.add(op.slot_name)
        self.expect(lambda: ExpectedAlert(rule, item, op.due_ts, rule, None))

    def _belongings_withdraw(self, rule: str, by_slot: dict[str, list[LockerOp]]) -> LockerOp:
        """An item is withdrawn after its intake (in a handling area: a subject's phone taken for
        examination) and never comes back."""
        day = self.day
        candidates = []
        for name, ops in sorted(by_slot.items()):
            if name in self.used:
                continue
            ops = sorted(ops, key=lambda o: o.open_ts)
            for first, second in zip(ops, ops[1:] + [None]):
                start = first.close_ts + 5 * MIN
                due = start + 15 * MIN
                if (first.kind == "intake" and (second is None or second.auth_ts - start > 4 * MIN)
                        and due < day.end - 5 * MIN):
                    candidates.append((first, start, due))
        first, start, due = self.pick(rule, candidates, "no locker holds items long enough to withdraw one")
        op = LockerOp(first.bank, first.slot, "withdraw", [first.items[0]], first.case, first.by, start,
                      start + WORKORDER_OPEN_AFTER_MS, start + WORKORDER_OPEN_AFTER_MS + 20_000, due_ts=due)
        day.ops.append(op)
        return op

    def _lockers_slot_left_open(self, rule: str) -> None:
        self.require_lockers(rule)
        day = self.day
        limit = day.model.slot_open_max_ms
        by_slot = self.slots_in_use()
        candidates = []
        for name, ops in sorted(by_slot.items()):
            if name in self.used:
                continue
            ops = sorted(ops, key=lambda o: o.open_ts)
            for op, nxt in zip(ops, ops[1:] + [None]):
                close = op.open_ts + limit + HOLD_MS
                if close < day.end - 5 * MIN and (nxt is None or nxt.auth_ts - 2 * MIN > close):
                    candidates.append((op, close))
        op, close = self.pick(rule, candidates, "no slot operation has room to be left open")
        self.used.add(op.slot_name)
        op.close_ts = close
        self.expect(lambda: ExpectedAlert(rule, op.slot_name, op.open_ts + limit, rule, op.close_ts))

    # ------------------------------------------------------------------ camera phase

    def _cameras_recording_gap(self, rule: str) -> None:
        day = self.day
        m = day.model
        cameras: Cameras = day.cameras
        hold = self.grace(rule) + HOLD_MS

        def ok(s: Subject, zone: str) -> bool:
            zi = m.zone_index[zone]
            if not m.zone_requires_recording[zi]:
                return False
            # the cameras must not also cover a zone someone else is in
            for c in m.zone_cameras[zi]:
                for other in m.camera_zones[c]:
                    if other != zi and day.occupancy.get(m.zone_ids[other]):
                        return False
            return True

        stays = self.long_stays(rule, hold + 3 * SETTLE_MS, ok)
        types = day.graph.zone_type
        preferred = [c for c in stays if types[c[1]] in ("interrogation", "questioning")]
        s, zone, enter, _ = self.pick(rule, preferred or stays, "no subject stays long enough in a recorded room")
        self.used.add(s.id)
        t = enter + s.offset + SETTLE_MS
        for c in m.zone_cameras[m.zone_index[zone]]:
            cameras.add_outage(m.camera_ids[c], t, t + hold, "stopped")
        self.expect(lambda: ExpectedAlert(rule, s.id, t + self.grace(rule), rule, t + hold))

    # ------------------------------------------------------------------ door phase

    def free_door_time(self, rule: str, door: str, length: int) -> int:
        day = self.day
        cycles = [c for c in day.doors if c.door == door]
        mid = day.start + (day.end - day.start) // 2
        for k in range(0, 400):
            for t in (mid + k * 2 * MIN, mid - k * 2 * MIN):
                if not day.start + 10 * MIN < t < day.end - 10 * MIN - length:
                    continue
                if all(c.close_ts + 20_000 < t or t + length + 20_000 < c.open_ts for c in cycles):
                    return t
        raise ScenarioError(f"cannot inject {rule}: door {door} is never quiet for {length} ms")

    def pick_door(self, rule: str) -> str:
        doors = [d.id for d in self.day.cfg.doors]
        if not doors:
            raise ScenarioError(f"cannot inject {rule}: the site has no doors")
        free = [d for d in doors if d not in self.used]
        door = free[0] if free else doors[0]
        self.used.add(door)
        return door

    def _doors_door_forced(self, rule: str) -> None:
        door = self.pick_door(rule)
        t = self.free_door_time(rule, door, 10_000)
        self.day.doors.append(DoorCycle(door, t, t + 10_000, None, state="forced"))
        self.expect(lambda: ExpectedAlert(rule, door, t, rule, None))

    def _doors_door_held_open(self, rule: str) -> None:
        day = self.day
        door = self.pick_door(rule)
        limit = day.model.door_open_max_ms
        t = self.free_door_time(rule, door, limit + HOLD_MS)
        day.doors.append(DoorCycle(door, t, t + limit + HOLD_MS, None))
        self.expect(lambda: ExpectedAlert(rule, door, t + limit, rule, t + limit + HOLD_MS))


def _walk(hops: list[str], t: int) -> list[tuple[str, int]]:
    """Legs through transit zones, TRAVEL_HOP_MS each, starting at t."""
    return [(hop, t + i * TRAVEL_HOP_MS) for i, hop in enumerate(hops)]


def moves_between(moves: list, idx: int, until: int) -> bool:
    return idx + 1 < len(moves) and moves[idx + 1][0] <= until
