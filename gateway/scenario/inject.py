"""Violations injected into a scenario day, one per rule id of DESIGN §3.

Part of the scenario generator (gateway/scenario/generator.py). Each injection edits the clean plan at
the phase where it belongs (before scheduling, on group itineraries, on individual moves, on
locker work, on cameras, on doors) and records the alerts it must cause, with the exact
timestamp the engine raises them at. Times are computed from the final plan (closures run at
the end), because later phases may still shift an offset (e.g. an escort grows by one officer).

Each injection picks its own subject, slot or door, never one another injection already uses,
so their alerts do not mask each other. When the site cannot host an injection (no flow for a
flow violation, no lockers for a slot rule) it raises ScenarioError saying why. The person
rules live here, the device rules in gateway/scenario/inject_devices.py.
"""

from __future__ import annotations

from collections.abc import Callable

from core_ext import vocab
from gateway.scenario.inject_devices import HOLD_MS, SETTLE_MS, DeviceInjections, ExpectedAlert
from gateway.scenario.inject_second import SecondLayerInjections
from gateway.scenario.people import GROUP_STEP_MS, MIN, Subject, detour, zone_at
from gateway.scenario.route import ScenarioError

__all__ = ["Injector", "ExpectedAlert", "PHASES"]

TRAVEL_HOP_MS = 15_000
LINGER_MS = 20 * 60_000  # longest a group waits in a corridor for an injected co-suspect meeting

PHASES = ("draw", "groups", "persons", "lockers", "cameras", "doors")


class Injector(SecondLayerInjections, DeviceInjections):
    """Applies the requested injections to a Day (see gateway/scenario/generator.py) phase by phase."""

    def __init__(self, day, rules: list[str]):
        self.day = day
        self.rules = rules
        self.used: set[str] = set()
        self.co_pair: set[str] = set()  # the co-suspects brought in together for that injection
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
        # (a subject with a temporary exit has moves its group stays do not show: left alone)
        subjects = [s for s in self.day.subjects if s.id not in self.used and s.exit_plan is None]
        if not subjects:
            kind = self.day.cfg.site.kind
            raise ScenarioError(
                f"cannot inject {rule}: no subject left to use"
                + (" (a property room has no subjects)" if kind == "property_room" else "; generate more subjects")
            )
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
        s.minor, s.guardian = False, None  # an adult: female_minor_without_female_staff is another rule
        if s.age is not None and s.age < 18:
            s.age = 30
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

    def _subject_on_ordinary_limit(self, rule: str) -> tuple[Subject, int]:
        """A subject for a time-limit rule, not extended, and the limit (ms) that applies to them."""
        s = self.pick(rule, self.subjects(rule), "no subject")
        self.used.add(s.id)
        s.extend = False  # the limit that applies is the ordinary one
        return s, self.day.planner.limit_ms(s)

    def _groups_time_limit_warning(self, rule: str) -> None:
        s, limit = self._subject_on_ordinary_limit(rule)
        warn = self.day.model.warn_before_ms
        stay = s.checkout_ts - s.checkin_ts
        lead = min(stay // 2, warn // 2, 30 * MIN)
        if warn < 2 * MIN or lead < MIN:
            raise ScenarioError(
                f"cannot inject {rule}: warn_before of {warn} ms leaves no room for a warning "
                "that is not also an excess"
            )
        warning_at = s.checkout_ts - lead
        s.arrived_ts = warning_at - (limit - warn)
        self.expect(lambda: ExpectedAlert(rule, s.id, warning_at, rule, s.checkout_ts))

    def _groups_time_limit_exceeded(self, rule: str) -> None:
        s, limit = self._subject_on_ordinary_limit(rule)
        stay = s.checkout_ts - s.checkin_ts
        exceed_at = s.checkout_ts - min(stay // 3, 20 * MIN)
        s.arrived_ts = exceed_at - limit
        warning_at = max(s.checkin_ts, exceed_at - self.day.model.warn_before_ms)
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
        """Co-suspect B is walked into the separating room where A is (see walk_in)."""
        day = self.day
        graph, cfg = day.graph, day.graph.zone_cfg
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
        self.walk_in(rule, pairs, "no two subjects of one case are on site at the same time long enough")

    def walk_in(self, rule: str, pairs: list, why: str) -> None:
        """Subject B is walked into room z while A is there (pairs: (a, b, z, a0, a1), A's stay
        a0..a1 in group time) for grace + HOLD_MS; the condition is raised for both.

        Preferred: from a room B stays in at that moment, and back to it. Otherwise: on B's
        way out (after B's last room, lingering at most LINGER_MS in the corridor), then on to
        the exit; only B's checkout moves, so no room booking of anyone else changes."""
        hold = self.grace(rule) + HOLD_MS
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
            b.legs[idx + 1 : idx + 1] = inserted
        else:
            exits = [
                (a, b, z, plan)
                for a, b, z, a0, a1 in pairs
                for plan in [self._exit_detour_plan(b, z, a0, a1, hold)]
                if plan is not None
            ]
            a, b, z, (idx, legs, leave, t_enter, t_back) = self.pick(rule, exits, why)
            b.legs[idx + 1 :] = legs
            b.leave = leave
        self.used.update((a.id, b.id))
        rules = [rule]
        if rule != "mixed_sex_waiting" and a.sex != b.sex and self.day.graph.zone_type[z] == "waiting":
            rules.append("mixed_sex_waiting")  # co-suspects of different sex in a waiting room: both rules
        for r in rules:
            for who in (a, b):
                self.expect(
                    lambda who=who, r=r: ExpectedAlert(  # type: ignore[misc]  # default arguments bind the loop's values; mypy cannot infer such a lambda
                        r, who.id, t_enter + b.offset + self.grace(r), rule, t_back + b.offset
                    )
                )

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
        stays = self.long_stays(
            rule, need, lambda s, z: cfg[z].effective_min_officers >= 2 and s.team_size >= 2 and self.no_staff(z)
        )
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
        s.moves[idx + 1 : idx + 1] = [(last_read, zone), (last_read + 1, None), (back, zone)]
        self.expect(lambda: ExpectedAlert(rule, s.id, last_read + lost, rule, back))


def _walk(hops: list[str], t: int) -> list[tuple[str, int]]:
    """Legs through transit zones, TRAVEL_HOP_MS each, starting at t."""
    return [(hop, t + i * TRAVEL_HOP_MS) for i, hop in enumerate(hops)]


def moves_between(moves: list, idx: int, until: int) -> bool:
    return idx + 1 < len(moves) and moves[idx + 1][0] <= until
