"""Who is where, when: subjects walking their route with their escort, and the staff on duty.

Part of the scenario generator (gateway/scenario/generator.py); pure computation, times in integer ms.

Model. A subject arrives with an escort team of officers (at least the largest min_officers of
the zones on the route, and a female officer for a female subject). The group walks the route
together: at every move the officers are read in the new zone first, GROUP_STEP_MS apart, then
the subject, so nobody is ever alone for more than a fraction of a second. Stations (every zone
that is not an entry, corridor or exit) hold one group at a time, first come first served:
a group waits in the station it is in until the next one is free. That keeps co-suspects apart
and makes every room's occupancy known, which the injections and the camera blips rely on.

A person's whereabouts are a list of moves `(ts, zone)`, `zone` None meaning "not read"
(off site, or a wristband out of coverage). Reads start exactly at each move, so the engine's
view of a location change is the move's timestamp: that is what makes alert times predictable.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from core_ext import vocab
from core_ext.site import SiteModel
from gateway.scenario.route import RouteTemplate, ScenarioError, SiteGraph

MIN = 60_000
GROUP_STEP_MS = 100
STATION_TURNOVER_MS = 60_000  # a station is empty this long between two groups
CHECKIN_LEAD_MS = 1_000  # check-in is recorded just before the group is first read
ENTRY_MS = (30_000, 90_000)
EXIT_MS = (30_000, 60_000)
TRANSIT_MS = (12_000, 35_000)
OFFICER_REST_MS = (10 * MIN, 30 * MIN)
ARRIVAL_LEAD_MS = (5 * MIN, 40 * MIN)  # arrived_ts (到案) before check-in
TIME_LIMIT_SAFETY_MS = 30 * MIN  # checkout at least this long before the warning

# Plausible lengths of a stay, in minutes (shortest, longest), before they are scaled down to
# fit the number of subjects and rooms into the day.
STAGE_MINUTES: dict[str, tuple[float, float]] = {
    "registration": (5, 12),
    "security_check": (5, 10),
    "belongings": (3, 8),
    "info_collection": (8, 20),
    "identification": (5, 15),
    "waiting": (15, 75),
    "interrogation": (40, 150),
    "questioning": (30, 90),
    "medical": (10, 25),
    "rest": (30, 90),
    "property_store": (5, 10),
}
DEFAULT_STAGE_MINUTES = (5, 15)
STATION_UTILISATION = 0.5
MEDICAL_SHARE = 0.15
WAITING_SHARE = 0.8

SUBJECT_ROLES = (("suspect", 0.7), ("witness", 0.15), ("victim", 0.1), ("other", 0.05))
SUSPECT_BASES = (
    ("criminal_summons", 0.4),
    ("criminal_compelled", 0.15),
    ("admin_summons", 0.4),
    ("continued_questioning", 0.05),
)
CO_SUSPECTS = ((1, 0.7), (2, 0.2), (3, 0.1))
FEMALE_SHARE = 0.2
FEMALE_OFFICER_SHARE = 0.3
MINOR_SHARE = 0.05  # minors (12–17) come with a guardian (CPL art. 281)
MINOR_AGES = (12, 18)
EXTENSION_SHARE = 0.1  # suspects whose custody gets an approved extension
# Second layer (DESIGN §3, §6.2): continued questioning of the elderly or the pregnant (vulnerable:
# done within vulnerable_limit_h, never in a waiting room), temporary exits, detention decisions.
VULNERABLE_SHARE = 0.4  # of continued_questioning subjects: 70+ or pregnant
ELDERLY_AGES = (70, 86)
ADULT_AGES = (18, 66)
TEMP_EXIT_SHARE = 0.1  # suspects taken out (指认现场, 起赃, 就医) during a long interview
TEMP_EXIT_MS = (10 * MIN, 40 * MIN)
TEMP_EXIT_MARGIN_MS = (15 * MIN, 45 * MIN)  # until_ts is this long after the planned return
DECISION_SHARE = 0.2  # criminal suspects detained (刑事拘留) and transferred at check-out
OTHER_OUTCOMES = (("released", 0.8), ("bail", 0.12), ("residential_surveillance", 0.08))
RELEASED_TO_SHARE = 0.3  # adults collected by family; minors and vulnerable subjects always
INTERVIEW_TYPES = ("interrogation", "questioning")
GUARDIAN_TAG_FAMILY = 0x0D
SUPERVISOR_ID = "sup-01"  # the duty supervisor: approves exits and work orders (never on the floor)
INVESTIGATOR_ID = "inv-01"  # the case officer who registers seizures (never on the floor)
MEAL_EVERY_MS = 4 * 60 * MIN  # a meal at least this often (sooner when rules.meal_interval_h asks)
WATER_SHARE = 0.5


def weighted(rng: random.Random, table: tuple[tuple, ...]):
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


def uniform_ms(rng: random.Random, bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    return lo + int(rng.random() * (hi - lo))


def uniform_int(rng: random.Random, bounds: tuple[int, int]) -> int:
    """An integer in [lo, hi)."""
    return uniform_ms(rng, bounds)


@dataclass
class Staff:
    id: str
    role: str  # officer, custodian, doctor
    sex: str
    tag: str
    moves: list[tuple[int, str | None]] = field(default_factory=list)
    free_at: int = 0  # escorts: when the officer can take the next subject


@dataclass
class Subject:
    id: str
    role: str
    sex: str
    tag: str
    case: str
    basis: str
    minor: bool
    arrival: int = 0
    arrived_ts: int = 0
    legs: list[tuple[str, int]] = field(default_factory=list)  # group's (zone, enter)
    leave: int = 0  # group leaves; checkout follows
    team_size: int = 1
    female_escort: bool = True  # False only where female_search_without_female_officer is injected
    extend: bool = False  # an approved extension (`extend` event) half way through the stay
    escorts: list[Staff] = field(default_factory=list)
    moves: list[tuple[int, str | None]] = field(default_factory=list)
    # second layer
    age: int | None = None
    pregnant: bool = False
    guardian: Staff | None = None  # enrolled with role guardian, walks with the group
    no_waiting: bool = False  # vulnerable: never in a waiting room
    force_waiting: bool = False  # an injection wants a waiting stay
    one_woman: bool = False  # escort of exactly one woman plus men (and one officer more)
    exit_plan: tuple[int, int, str, int] | None = None  # group time (leave, back, reason, until margin)
    exits: list[tuple[int, int, str, int]] = field(default_factory=list)  # (leave_ts, return_ts, reason, until_ts)
    decision: bool = False
    outcome: str = "released"
    released_to: str | None = None
    guardian_named: bool = True  # the check-in names the guardian too (else only the enrolment's `for`)
    no_meals: bool = False  # an injection: nobody brings a meal
    min_interview_ms: int = 0  # an injection: the interview lasts at least this long
    needs_interview: bool = False  # an injection: the interview is never dropped to fit the day

    @property
    def minor_flag(self) -> bool:
        return self.minor or (self.age is not None and self.age < 18)

    @property
    def offset(self) -> int:
        """The subject is read this long after the group's move (after every escort)."""
        return self.team_size * GROUP_STEP_MS

    @property
    def checkin_ts(self) -> int:
        return self.arrival - CHECKIN_LEAD_MS

    @property
    def checkout_ts(self) -> int:
        return self.leave + self.offset

    def stays(self) -> list[tuple[str, int, int]]:
        """Group stays (zone, enter, leave) in group time (the subject is `offset` later)."""
        out = []
        for i, (zone, enter) in enumerate(self.legs):
            end = self.legs[i + 1][1] if i + 1 < len(self.legs) else self.leave
            out.append((zone, enter, end))
        return out


def intervals(moves: list[tuple[int, str | None]]) -> list[tuple[int, int, str]]:
    """(start, end, zone) for each located stretch of a move list."""
    out = []
    for (t, zone), (t2, _) in zip(moves, moves[1:]):
        if zone is not None and t2 > t:
            out.append((t, t2, zone))
    return out


def zone_at(moves: list[tuple[int, str | None]], ts: int) -> tuple[int, str | None]:
    """Index and zone of the move in force at ts."""
    idx = -1
    for i, (t, _) in enumerate(moves):
        if t <= ts:
            idx = i
        else:
            break
    return idx, (moves[idx][1] if idx >= 0 else None)


def detour(moves: list[tuple[int, str | None]], t_from: int, t_to: int, zone: str | None) -> None:
    """Put a person in `zone` from t_from to t_to, then back where they were.

    Only inside one stretch: a detour that would cross another move is a planning bug.
    """
    idx, here = zone_at(moves, t_from)
    if idx < 0 or here is None or (idx + 1 < len(moves) and moves[idx + 1][0] <= t_to):
        raise ScenarioError(f"internal: detour {t_from}..{t_to} does not fit inside one stay")
    moves[idx + 1 : idx + 1] = [(t_from, zone), (t_to, here)]


class PeoplePlanner:
    """Draws the subjects, schedules their groups through the stations, assigns escorts."""

    def __init__(self, rng: random.Random, graph: SiteGraph, model: SiteModel, start: int, end: int):
        self.rng = rng
        self.graph = graph
        self.model = model
        self.start = start
        self.end = end
        self.template: RouteTemplate = graph.route_template()
        self.station_free: dict[str, int] = {}
        self.officers: list[Staff] = []
        self.stationed: list[Staff] = []
        self._tag_seq: dict[int, int] = {}
        self.stage_ms: dict[str, tuple[int, int]] = {}
        self.floor_ms = max(3 * MIN, max(model.grace_ms) + 150_000, model.lost_after_ms + 150_000)

    # ------------------------------------------------------------------ ids

    def new_tag(self, family: int) -> str:
        """A tag of the family (first byte) numbered in creation order within it: the same person id
        gets the same tag on every day of a site (days played one after the other enrol them again)."""
        self._tag_seq[family] = n = self._tag_seq.get(family, 0) + 1
        return f"{family:02X}{n:08X}"

    def new_officer(self, sex: str) -> Staff:
        n = len(self.officers) + 1
        officer = Staff(id=f"off-{n:03d}", role="officer", sex=sex, tag=self.new_tag(0x0B))
        self.officers.append(officer)
        return officer

    # ------------------------------------------------------------------ subjects

    def draw_subjects(self, n: int) -> list[Subject]:
        rng = self.rng
        subjects: list[Subject] = []
        groups: list[list[Subject]] = []
        cases: list[str] = []
        while len(subjects) < n:
            role = weighted(rng, SUBJECT_ROLES)
            if role == "suspect":
                size = min(weighted(rng, CO_SUSPECTS), n - len(subjects))
                case = f"case-{len(cases) + 1:04d}"
                cases.append(case)
                group = [
                    self._subject(len(subjects) + i, "suspect", case, weighted(rng, SUSPECT_BASES)) for i in range(size)
                ]
            else:
                if cases and rng.random() < 0.5:
                    case = cases[int(rng.random() * len(cases))]
                else:
                    case = f"case-{len(cases) + 1:04d}"
                    cases.append(case)
                group = [self._subject(len(subjects), role, case, "admin_summons")]
            subjects.extend(group)
            groups.append(group)
        self._set_durations(n)
        self._arrivals(groups)
        subjects.sort(key=lambda s: (s.arrival, s.id))
        return subjects

    def _subject(self, index: int, role: str, case: str, basis: str) -> Subject:
        rng = self.rng
        s = Subject(
            id=f"sub-{index + 1:04d}",
            role=role,
            sex="F" if rng.random() < FEMALE_SHARE else "M",
            tag=self.new_tag(0x0A),
            case=case,
            basis=basis,
            minor=rng.random() < MINOR_SHARE,
            extend=role == "suspect" and rng.random() < EXTENSION_SHARE,
        )
        draw = rng.random()
        if s.minor:
            s.age = uniform_int(rng, MINOR_AGES)
        elif basis == vocab.VULNERABLE_BASIS and draw < VULNERABLE_SHARE:
            if s.sex == "F" and draw < VULNERABLE_SHARE / 2:
                s.age, s.pregnant = uniform_int(rng, ADULT_AGES), True
            else:
                s.age = uniform_int(rng, ELDERLY_AGES)
        else:
            s.age = uniform_int(rng, ADULT_AGES)
        self.second_layer(s)
        return s

    def second_layer(self, s: Subject) -> None:
        """What follows from who the subject is: a guardian for a minor, no waiting room and no
        extension for a vulnerable subject (DESIGN §6.2)."""
        if s.minor_flag and s.guardian is None:
            s.guardian = Staff(
                id=f"grd-{s.id}",
                role="guardian",
                sex="F" if self.rng.random() < 0.5 else "M",
                tag=f"{GUARDIAN_TAG_FAMILY:02X}{s.tag[2:]}",
            )  # follows the subject's number
        if self.vulnerable(s):
            s.no_waiting = True
            s.extend = False

    def vulnerable(self, s: Subject) -> bool:
        return s.basis == vocab.VULNERABLE_BASIS and (s.pregnant or (s.age is not None and (s.age < 16 or s.age >= 70)))

    def _typical_route_ms(self) -> float:
        types = list(self.template.intake) + ["waiting", "interrogation"]
        return sum(MIN * sum(STAGE_MINUTES.get(t, DEFAULT_STAGE_MINUTES)) / 2 for t in types)

    def _set_durations(self, n: int) -> None:
        """Scale stay lengths so that n subjects and the site's rooms fit into the day."""
        span = self.end - self.start
        day_scale = min(1.0, 0.35 * span / self._typical_route_ms())
        longest = 0
        for t in set(STAGE_MINUTES) | set(self.template.intake):
            lo, hi = STAGE_MINUTES.get(t, DEFAULT_STAGE_MINUTES)
            self.stage_ms[t] = (int(lo * MIN * day_scale), int(hi * MIN * day_scale))
        for t in list(self.template.intake) + ["waiting", "interrogation"]:
            longest += self.stage_ms[t][1]
        self.arrival_window = (
            self.start + 5 * MIN,
            max(self.start + 5 * MIN, self.end - int(1.3 * longest) - 10 * MIN),
        )
        interarrival = (self.arrival_window[1] - self.arrival_window[0]) / max(1, n)
        for t, (lo, hi) in self.stage_ms.items():
            rooms = len(self.graph.by_type.get(t, ()))
            mean = (lo + hi) / 2
            if rooms and mean > 0:
                # a room is also busy for the turnover between two groups
                budget = STATION_UTILISATION * rooms * interarrival - STATION_TURNOVER_MS
                f = min(1.0, max(0.0, budget) / mean)
                lo, hi = int(lo * f), int(hi * f)
            lo = max(lo, self.floor_ms)
            self.stage_ms[t] = (lo, max(hi, lo + 30_000))

    def _arrivals(self, groups: list[list[Subject]]) -> None:
        rng = self.rng
        a0, a1 = self.arrival_window
        step = (a1 - a0) / max(1, len(groups))
        for g, group in enumerate(groups):
            base = a0 + int(step * g + rng.random() * step * 0.5)
            for i, s in enumerate(group):
                # co-suspects are brought in together, a few minutes apart
                s.arrival = base + i * uniform_ms(rng, (4 * MIN, 12 * MIN))
                s.arrived_ts = s.checkin_ts - uniform_ms(rng, ARRIVAL_LEAD_MS)

    # ------------------------------------------------------------------ scheduling

    def limit_ms(self, s: Subject) -> int:
        """The subject's ordinary time limit: their basis's, or the vulnerable limit (DESIGN §3)."""
        limit = self.model.basis_limit_ms[vocab.BASIS_CODE[s.basis]]
        if self.vulnerable(s):
            limit = min(limit, self.model.vulnerable_limit_ms)
        return limit

    def budget_end(self, s: Subject) -> int:
        """Latest checkout for a clean day: well before the warning and the end of the day."""
        limit = self.limit_ms(s)
        return min(s.arrived_ts + limit - self.model.warn_before_ms - TIME_LIMIT_SAFETY_MS, self.end - 5 * MIN)

    def schedule_all(self, subjects: list[Subject]) -> None:
        """Schedule the groups in arrival order. On a site where a corridor-like zone separates
        co-suspects (rooms already hold one group at a time), a co-suspect is brought in only
        after the previous one of the case has left, so they never meet in passing."""
        stagger = any(
            not self.graph.is_station(z) and self.graph.zone_cfg[z].effective_separate for z in self.graph.located
        )
        queue = [(s.arrival, i, s) for i, s in enumerate(subjects)]
        heapq.heapify(queue)
        case_clear: dict[str, int] = {}
        while queue:
            _, i, s = heapq.heappop(queue)
            if stagger and case_clear.get(s.case, s.arrival) > s.arrival:
                shift = case_clear[s.case] - s.arrival
                s.arrival += shift
                s.arrived_ts += shift
                heapq.heappush(queue, (s.arrival, i, s))
                continue
            self._schedule_one(s)
            case_clear[s.case] = s.checkout_ts + 5 * MIN
        subjects.sort(key=lambda x: (x.arrival, x.id))

    def _schedule_one(self, s: Subject) -> None:
        stages = self._stages(s)
        # drop optional stages (medical, waiting, the interview) until the stay fits the budget
        kept = set(self.template.intake) | (set(INTERVIEW_TYPES) if s.needs_interview else set())
        optional = [i for i, (t, _) in enumerate(stages) if t not in kept]
        while True:
            plan = self._schedule(s, stages)
            if plan is not None and plan[1] + s.team_size * GROUP_STEP_MS <= self.budget_end(s):
                break
            if not optional:
                if plan is None:
                    raise ScenarioError(
                        f"{self.graph.cfg.source}: no walk along the flow from '{self.template.start}' visits "
                        f"{', '.join(t for t, _ in stages)} in turn"
                        + (f" and reaches '{self.template.exit}'" if self.template.exit else "")
                    )
                raise ScenarioError(
                    f"{s.id} (arriving at {s.arrival}) cannot be checked out before {self.budget_end(s)} even "
                    f"with the required steps only: too many subjects for the site's rooms in this time "
                    "window; use more hours or fewer subjects"
                )
            stages = [st for i, st in enumerate(stages) if i != optional[-1]]
            optional = [i for i, (t, _) in enumerate(stages) if t not in kept]
        legs, leave, reservations = plan
        s.arrived_ts += legs[0][1] - s.arrival
        s.arrival = legs[0][1]
        s.legs, s.leave = legs, leave
        self.station_free.update(reservations)
        s.team_size = self.team_size(s)

    def team_size(self, s: Subject) -> int:
        cfg = self.graph.zone_cfg
        return max([1] + [cfg[z].effective_min_officers for z, _ in s.legs]) + (1 if s.one_woman else 0)

    def _stages(self, s: Subject) -> list[tuple[str, int]]:
        rng = self.rng
        types = list(self.template.intake)
        intake = set(types)  # a room type that is also a required step is visited once
        wait = rng.random() < WAITING_SHARE or s.force_waiting
        if "waiting" in self.graph.by_type and wait and not s.no_waiting and "waiting" not in intake:
            types.append("waiting")
        interview = ("interrogation", "questioning") if s.role == "suspect" else ("questioning", "interrogation")
        for t in interview:
            if t in self.graph.by_type:
                if t not in intake:
                    types.append(t)
                break
        if "medical" in self.graph.by_type and rng.random() < MEDICAL_SHARE and "medical" not in intake:
            types.append("medical")
        s.team_size = max(
            [1] + [self.graph.zone_cfg[z].effective_min_officers for t in types for z in self.graph.by_type[t]]
        ) + (1 if s.one_woman else 0)
        stages = [(t, uniform_ms(rng, self.stage_ms.get(t, (self.floor_ms, self.floor_ms + MIN)))) for t in types]
        return [(t, max(d, s.min_interview_ms) if t in ("interrogation", "questioning") else d) for t, d in stages]

    def _schedule(self, s: Subject, stages: list[tuple[str, int]]):
        """Walk the stages first come first served; None if a stage cannot be reached."""
        graph, rng = self.graph, self.rng
        exit_zone = self.template.exit
        cur = self.template.start
        reservations: dict[str, int] = {}

        def free_at(zone: str) -> int:
            return reservations.get(zone, self.station_free.get(zone, self.start))

        # a site without an entry hall: the group is brought in when the first room is free
        appear = max(s.arrival, free_at(cur)) if graph.is_station(cur) else s.arrival
        legs: list[tuple[str, int]] = [(cur, appear)]
        ready = appear + uniform_ms(rng, ENTRY_MS)

        def walk(dest: str) -> tuple[list[tuple[str, int]], int]:
            path = graph.path(cur, dest)
            hops = [(z, uniform_ms(rng, TRANSIT_MS)) for z in path[1:-1]]  # type: ignore[index]  # graph.path is None only for unreachable zones; the planner walks reachable ones
            return hops, sum(d for _, d in hops)

        for k, (stage_type, duration) in enumerate(stages):
            best = None
            later = tuple(t for t, _ in stages[k + 1 :])
            for zone in graph.by_type[stage_type]:
                if zone == cur or graph.path(cur, zone) is None or graph.walk_cost(zone, later, exit_zone) is None:
                    continue
                hops, travel = walk(zone)
                depart = self._clear_path(ready, hops, free_at)
                enter = max(depart + travel, free_at(zone)) if graph.is_station(zone) else depart + travel
                if best is None or enter < best[0]:
                    best = (enter, zone, hops, travel)
            if best is None:
                return None
            enter, zone, hops, travel = best
            self._leave(cur, enter - travel, legs, hops, reservations)
            legs.append((zone, enter))
            cur, ready = zone, enter + duration
        if exit_zone is not None and exit_zone != cur:
            hops, travel = walk(exit_zone)
            depart = self._clear_path(ready, hops, free_at)
            self._leave(cur, depart, legs, hops, reservations)
            legs.append((exit_zone, depart + travel))
            leave = depart + travel + uniform_ms(rng, EXIT_MS)
        else:
            leave = ready
            if self.graph.is_station(cur):
                reservations[cur] = leave + STATION_TURNOVER_MS
        return legs, leave, reservations

    def _clear_path(self, ready: int, hops: list[tuple[str, int]], free_at) -> int:
        """Earliest departure at or after ready such that every room passed through on the way
        (a flow may lead through one) is free when the group walks through it."""
        depart = ready
        while True:
            t, late = depart, 0
            for zone, d in hops:
                if self.graph.is_station(zone) and free_at(zone) > t:
                    late = free_at(zone) - t
                    break
                t += d
            if not late:
                return depart
            depart += late

    def _leave(self, cur: str, at: int, legs: list, hops: list, reservations: dict) -> None:
        if self.graph.is_station(cur):
            reservations[cur] = at + STATION_TURNOVER_MS
        t = at
        for zone, d in hops:
            legs.append((zone, t))
            if self.graph.is_station(zone):
                reservations[zone] = t + d + STATION_TURNOVER_MS
            t += d

    # ------------------------------------------------------------------ escorts and moves

    def assign_escorts(self, subjects: list[Subject]) -> None:
        rng = self.rng
        for s in sorted(subjects, key=lambda x: (x.arrival, x.id)):
            s.team_size = self.team_size(s)
            free = [o for o in self.officers if o.free_at <= s.arrival]
            team: list[Staff] = []
            if s.sex == "F" and s.female_escort:
                women = [o for o in free if o.sex == "F"]
                team.append(women[0] if women else self.new_officer("F"))
            men_only = not s.female_escort or s.one_woman
            for o in free:
                if len(team) >= s.team_size:
                    break
                if o in team or (men_only and o.sex == "F"):
                    continue
                team.append(o)
            while len(team) < s.team_size:
                sex = "M" if men_only or rng.random() >= FEMALE_OFFICER_SHARE else "F"
                team.append(self.new_officer(sex))
            rest = uniform_ms(rng, OFFICER_REST_MS)
            for j, officer in enumerate(team):
                officer.moves.extend((enter + j * GROUP_STEP_MS, zone) for zone, enter in s.legs)
                officer.moves.append((s.leave + j * GROUP_STEP_MS, None))
                officer.free_at = s.checkout_ts + rest
            s.escorts = team
            s.moves = [(enter + s.offset, zone) for zone, enter in s.legs] + [(s.checkout_ts, None)]
            if s.exit_plan is not None:
                self._temporary_exit(s)
            if s.guardian is not None:
                # read just before the subject at every move: with them all the way
                s.guardian.moves = [(t - GROUP_STEP_MS // 2, z) for t, z in s.moves]

    def _temporary_exit(self, s: Subject) -> None:
        """The group leaves the area (escorts with the subject) and comes back into the same room."""
        t_out, t_back, reason, margin = s.exit_plan  # type: ignore[misc]  # only subjects with an exit_plan take a temporary exit
        idx, zone = zone_at(s.moves, t_out + s.offset)
        if zone is None or (idx + 1 < len(s.moves) and s.moves[idx + 1][0] <= t_back + s.offset):
            raise ScenarioError(f"internal: temporary exit of {s.id} does not fit inside one stay")
        for j, officer in enumerate(s.escorts):
            detour(officer.moves, t_out + j * GROUP_STEP_MS, t_back + j * GROUP_STEP_MS, None)
        detour(s.moves, t_out + s.offset, t_back + s.offset, None)
        s.exits.append(
            (
                t_out + s.offset,
                t_back + s.offset - GROUP_STEP_MS * (s.team_size + 1),
                reason,
                t_back + s.offset + margin,
            )
        )

    def plan_exits(self, subjects: list[Subject]) -> None:
        """Suspects with a long interview may be taken out (指认现场, 起赃, 就医) and brought back."""
        rng = self.rng
        for s in subjects:
            draw = rng.random()
            if s.role != "suspect" or draw >= TEMP_EXIT_SHARE or s.exit_plan is not None or s.minor_flag:
                continue
            self.plan_exit(s, rng.choice(vocab.LEAVE_REASONS[:3]), uniform_ms(rng, TEMP_EXIT_MARGIN_MS))

    def plan_exit(
        self, s: Subject, reason: str, margin: int, away: int | None = None, settle: int | None = None
    ) -> bool:
        """Take the group out early in its longest interview stay; False if none is long enough."""
        types = self.graph.zone_type
        stays = [(b - a, z, a, b) for z, a, b in s.stays() if types[z] in ("interrogation", "questioning")]
        if not stays:
            return False
        length, _, a, _ = max(stays)
        if away is None:
            away = uniform_ms(self.rng, TEMP_EXIT_MS)
        if settle is None:
            settle = 2 * MIN + self.floor_ms // 3
        if length < away + 2 * settle:
            return False
        t_out = a + settle
        s.exit_plan = (t_out, t_out + away, reason, margin)
        return True

    def plan_decisions(self, subjects: list[Subject], skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]  # a frozenset default that is never mutated
        """Criminal suspects detained at the end of the interview leave by transfer; the others
        get an outcome, and minors, vulnerable subjects and some adults are collected by family."""
        rng = self.rng
        for s in subjects:
            draw, draw2 = rng.random(), rng.random()
            if s.id in skip:
                continue
            if (
                s.role == "suspect"
                and s.basis in ("criminal_summons", "criminal_compelled")
                and draw < DECISION_SHARE
                and not s.minor_flag
            ):
                s.decision, s.outcome = True, "criminal_detention"
                continue
            s.outcome = weighted(rng, OTHER_OUTCOMES) if s.role == "suspect" else "released"
            if s.guardian is not None:
                s.released_to = s.guardian.id
            elif self.vulnerable(s) or draw2 < RELEASED_TO_SHARE:
                s.released_to = f"family of {s.id}"

    def decision_ts(self, s: Subject) -> int:
        """The decision is made as the group leaves its last room (before the walk out)."""
        return max(s.checkin_ts + 1, s.legs[-1][1] - 1_000)

    def station_staff(self) -> None:
        """Desk officers, doctors and belongings custodians who stay in their room all day."""
        rng = self.rng
        cfg = self.graph.cfg
        bank_zones = {b.zone for b in cfg.lockers if b.zone is not None}
        for zone in self.graph.located:
            ztype = self.graph.zone_type[zone]
            role = None
            if ztype == "registration":
                role, prefix = "officer", "desk"
            elif ztype == "medical":
                role, prefix = "doctor", "doc"
            elif cfg.site.kind == "handling_area" and zone in bank_zones:
                role, prefix = "custodian", "cust"
            if role is None:
                continue
            sex = "F" if rng.random() < FEMALE_OFFICER_SHARE else "M"
            person = Staff(id=f"{prefix}-{zone}", role=role, sex=sex, tag=self.new_tag(0x0C))
            person.moves = [(self.start, zone), (self.end, None)]
            self.stationed.append(person)
