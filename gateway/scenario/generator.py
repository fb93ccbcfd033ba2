"""Scenario generator: a realistic day of events (DESIGN §6.2) for any valid site.

    from gateway.scenario import generate
    sc = generate(load_site("firmware_configs/sites/demo-area.yaml"), subjects=20, seed=7,
                  inject={"unaccompanied", "item_mismatch"})
    for event in sc.events(): ...          # dicts, sorted by ts, lazily
    for chunk in sc.jsonl_chunks(): ...    # the same events as JSON Lines bytes, fast
    sc.expected                             # [ExpectedAlert(rule, subject, ts, injected, cleared_ts)]

Shared by the tests, the benchmarks and the demo; no I/O (the CLI is gateway/commands/scenario.py).
Everything derives from the seed: the same arguments give the same bytes.

The day is planned eagerly (a few thousand discrete events: enrolment, check-in/out, cameras,
doors, lockers) and the bulk, a tag read every 1–2 s for every person present, is produced
lazily a minute at a time from each person's located stretches. How the plan is made:
gateway/scenario/route.py (routes from the flow graph), people.py (subjects, escorts,
staff), devices.py (lockers, cameras, doors), inject.py and inject_devices.py (violations).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from core_ext import vocab
from core_ext.site import SiteConfig, SiteModel, compile_site
from gateway.scenario.devices import (
    Cameras,
    DoorCycle,
    LockerOp,
    PropertyRoom,
    belongings_ops,
    door_cycles,
    door_events,
    finish_lockers,
    locker_events,
)
from gateway.scenario.inject import ExpectedAlert, Injector
from gateway.scenario.people import (
    INVESTIGATOR_ID,
    MEAL_EVERY_MS,
    MIN,
    SUPERVISOR_ID,
    WATER_SHARE,
    PeoplePlanner,
    Staff,
    Subject,
    intervals,
)
from gateway.scenario.route import ScenarioError, SiteGraph

__all__ = [
    "generate",
    "Scenario",
    "ExpectedAlert",
    "ScenarioError",
    "INJECTABLE_RULES",
    "DEFAULT_START_MS",
    "parse_start",
]

INJECTABLE_RULES: tuple[str, ...] = vocab.RULES
# Monday 2 March 2026, 08:00 in Beijing: a fixed default keeps generated logs reproducible.
DEFAULT_START_MS = 1772409600000
READ_MIN_MS = 1_000
READ_SPREAD_MS = 1_001  # next read 1000..2000 ms after the previous one
MEAL_HOURS = (12, 18)  # lunch and dinner, site time
WINDOW_MS = 60_000  # the lazy stream sorts one minute of events at a time
PERSON_SUBJECT = frozenset(vocab.SUBJECT_ROLES)


def parse_start(text: str) -> int:
    """`1772409600000` (ms since the epoch) or an ISO 8601 time (UTC if it has no offset)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ScenarioError(f"start {text!r} is neither milliseconds since the epoch nor an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@dataclass
class Day:
    """Everything planned for one day; filled phase by phase by `generate`."""

    cfg: SiteConfig
    model: SiteModel
    graph: SiteGraph
    rng: random.Random
    start: int
    end: int
    planner: PeoplePlanner
    subjects: list[Subject] = field(default_factory=list)
    custodians: list[Staff] = field(default_factory=list)
    ops: list[LockerOp] = field(default_factory=list)
    occupancy: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    cameras: Cameras | None = None
    doors: list[DoorCycle] = field(default_factory=list)
    extra_events: list[dict] = field(default_factory=list)  # injected desk events (e.g. a seizure)


@dataclass
class Scenario:
    """A generated day. Iterate `events()` (dicts) or `jsonl_chunks()` (bytes); both are lazy
    and can be iterated any number of times with the same result."""

    site_id: str
    seed: int
    start_ms: int
    end_ms: int
    people: list[dict]  # {"person", "role", "sex", "tag"} of everyone on the day
    expected: list[ExpectedAlert]  # alerts the injections cause (empty for a clean day)
    injected: tuple[str, ...]
    last_ts: int = 0  # end of the log: no event after it (run the engine's timers to here)
    _discrete: list[tuple] = field(repr=False, default_factory=list)  # (ts, 0, seq, event)
    _agenda: list[tuple] = field(repr=False, default_factory=list)  # (start, end, readers, tag)

    @property
    def discrete_count(self) -> int:
        return len(self._discrete)

    def _chunks(self, jsonl: bool = False) -> Iterator[list[tuple]]:
        """Sorted lists of (ts, 0, seq, event) and (ts, 1, reader, tag) tuples, a minute each.

        With jsonl, a read is (ts, 1, rest-of-line, "") instead: the JSON text after the ts.
        Ids sort the same either way (a JSON-safe id character sorts after the closing quote),
        and the random draws are the same, so both forms give the same events in the same order."""
        rng = random.Random(f"reads:{self.seed}:{self.site_id}")
        rand = rng.random
        agenda, discrete = self._agenda, self._discrete
        n_agenda, n_discrete = len(agenda), len(discrete)
        ai = di = 0
        active: list[list] = []
        t = self.start_ms
        last = self.last_ts
        while t <= last:
            w1 = t + WINDOW_MS
            while ai < n_agenda and agenda[ai][0] < w1:
                start, end, readers, tag = agenda[ai]
                if jsonl:
                    readers = tuple(f',"type":"tag_seen","reader":"{r}","tag":"{tag}"}}\n' for r in readers)
                    tag = ""
                active.append([start, end, readers, tag])
                ai += 1
            out: list[tuple] = []
            append = out.append
            keep = []
            for iv in active:
                nxt, end, readers, tag = iv
                stop = end if end < w1 else w1
                if len(readers) == 1:
                    reader = readers[0]
                    while nxt < stop:
                        append((nxt, 1, reader, tag))
                        nxt += READ_MIN_MS + int(rand() * READ_SPREAD_MS)
                else:
                    n = len(readers)
                    while nxt < stop:
                        append((nxt, 1, readers[int(rand() * n)], tag))
                        nxt += READ_MIN_MS + int(rand() * READ_SPREAD_MS)
                if nxt < end:
                    iv[0] = nxt
                    keep.append(iv)
            active = keep
            while di < n_discrete and discrete[di][0] < w1:
                append(discrete[di])
                di += 1
            out.sort()
            yield out
            t = w1

    def events(self) -> Iterator[dict]:
        """Every event as a DESIGN §6.2 dict, in ts order (a fresh dict each time)."""
        for chunk in self._chunks():
            for item in chunk:
                if item[1]:
                    yield {"ts": item[0], "type": "tag_seen", "reader": item[2], "tag": item[3]}
                else:
                    yield dict(item[3])

    __iter__ = events

    def event_batches(self) -> Iterator[list[dict]]:
        """The same events, a minute per list (cheaper for consumers that feed batches)."""
        for chunk in self._chunks():
            yield [{"ts": i[0], "type": "tag_seen", "reader": i[2], "tag": i[3]} if i[1] else dict(i[3]) for i in chunk]

    def jsonl_chunks(self) -> Iterator[bytes]:
        """The events as JSON Lines, a minute per bytes object (ids are JSON-safe by the site
        schema and by construction, so reads are formatted directly)."""
        encode = msgspec.json.encode
        for chunk in self._chunks(jsonl=True):
            parts: list[str] = []
            add = parts.append
            for item in chunk:
                if item[1]:
                    add(f'{{"ts":{item[0]}{item[2]}')
                else:
                    add(encode(item[3]).decode() + "\n")
            yield "".join(parts).encode()

    def jsonl(self) -> bytes:
        return b"".join(self.jsonl_chunks())


# ---------------------------------------------------------------------------- generate


def generate(
    site: SiteConfig | SiteModel,
    subjects: int = 20,
    seed: int = 0,
    start_ms: int | None = None,
    hours: float = 24.0,
    inject: Iterable[str] = (),
) -> Scenario:
    """Plan a day on `site`. `subjects`: people checked in (handling area) or cases whose
    property passes through (property room). `inject`: rule ids (DESIGN §3) to violate once
    each; `Scenario.expected` then lists every alert they cause and when."""
    cfg, model = (site.config, site) if isinstance(site, SiteModel) else (site, compile_site(site))
    rules = sorted(set(inject))
    unknown = [r for r in rules if r not in INJECTABLE_RULES]
    if unknown:
        raise ScenarioError(
            f"unknown rule id(s) to inject: {', '.join(unknown)} (known: {', '.join(INJECTABLE_RULES)})"
        )
    if subjects < 0:
        raise ScenarioError(f"subjects must be >= 0, got {subjects}")
    if not 0.5 <= hours <= 24 * 14:
        raise ScenarioError(f"hours must be between 0.5 and 336, got {hours}")
    start = DEFAULT_START_MS if start_ms is None else start_ms
    end = start + int(hours * 3_600_000)
    rng = random.Random(f"plan:{seed}:{cfg.site.id}")
    graph = SiteGraph(cfg)
    day = Day(cfg, model, graph, rng, start, end, PeoplePlanner(rng, graph, model, start, end))
    injector = Injector(day, rules)
    property_room = cfg.site.kind == "property_room"

    planner = day.planner
    if not property_room:
        day.subjects = planner.draw_subjects(subjects)
    injector.run("draw")
    planner.schedule_all(day.subjects)
    injector.run("groups")
    free = [s for s in day.subjects if s.id not in injector.used]
    planner.plan_exits(free)
    planner.plan_decisions(day.subjects, skip=injector.used)
    planner.assign_escorts(day.subjects)
    planner.station_staff()
    injector.run("persons")

    if property_room:
        day.custodians = _property_custodians(planner, subjects)
        home = day.custodians[0].moves[0][1]
        day.ops = PropertyRoom(rng, graph, start, end, day.custodians, home).plan(subjects)  # type: ignore[arg-type]  # a property room's day plans LockerOps into the same ops list
        for c in day.custodians:
            c.moves.append((end, None))
    else:
        day.custodians = [p for p in planner.stationed if p.role == "custodian"]
        by_zone = {p.moves[0][1]: p for p in day.custodians}
        day.ops = belongings_ops(rng, graph, day.subjects, by_zone)  # type: ignore[arg-type]  # a property room's day plans LockerOps into the same ops list
    injector.run("lockers")
    day.ops = finish_lockers(day.ops)

    day.occupancy = _occupancy(day)
    day.cameras = Cameras(model, day.occupancy)
    injector.run("cameras")
    day.cameras.place_blips(rng, start, end)

    day.doors = door_cycles(rng, graph, _passes(day), start, end, model.door_open_max_ms)
    injector.run("doors")
    return _assemble(day, seed, rules, injector.expected())


def _property_custodians(planner: PeoplePlanner, cases: int) -> list[Staff]:
    graph = planner.graph
    home = graph.by_type.get("entry", graph.located)[0]
    out = []
    for i in range(max(2, (cases + 39) // 40)):
        sex = "F" if i % 2 == 0 else "M"
        person = Staff(id=f"cust-{i + 1:02d}", role="custodian", sex=sex, tag=planner.new_tag(0x0C))
        person.moves = [(planner.start, home)]
        out.append(person)
    return out


def _occupancy(day: Day) -> dict[str, list[tuple[int, int]]]:
    """Where subjects are, as the engine sees it; a silent wristband keeps its zone until lost."""
    occ: dict[str, list[tuple[int, int]]] = {}
    lost = day.model.lost_after_ms
    for s in day.subjects:
        moves = s.moves
        for i, (t, zone) in enumerate(moves[:-1]):
            if zone is None:
                continue
            end = moves[i + 1][0]
            if moves[i + 1][1] is None and i + 2 < len(moves):
                end += lost
            occ.setdefault(zone, []).append((t, end))
    return occ


def _passes(day: Day) -> list[tuple[int, str, str | None]]:
    """(ts, zone, tag) each time a group or a walking custodian enters or leaves a zone."""
    out: list[tuple[int, str, str | None]] = []
    walkers: list[tuple[str, str | None, list[tuple[int, str | None]]]] = [
        (s.escorts[0].tag, None, [(t - s.offset, z) for t, z in s.moves]) for s in day.subjects if s.escorts
    ]
    if day.cfg.site.kind == "property_room":
        # custodians are on duty from the start: only their walks to the banks pass doors
        walkers += [(c.tag, c.moves[0][1], c.moves[1:-1]) for c in day.custodians]
    for tag, prev, moves in walkers:
        for t, zone in moves:
            if zone != prev:
                if prev is not None:
                    out.append((t, prev, tag))
                if zone is not None:
                    out.append((t, zone, tag))
            prev = zone
    return out


def _assemble(day: Day, seed: int, rules: list[str], expected: list[ExpectedAlert]) -> Scenario:
    discrete: list[tuple] = []

    def add(ts: int, event: dict) -> None:
        discrete.append((ts, 0, len(discrete), {"ts": ts, **event}))

    staff = (
        day.planner.officers + day.planner.stationed + (day.custodians if day.cfg.site.kind == "property_room" else [])
    )
    # the duty supervisor (approver) and the case officer (seizures): enrolled, never on the floor
    office = [
        Staff(id=pid, role="officer", sex="M", tag=day.planner.new_tag(0x0E))
        for pid in (SUPERVISOR_ID, INVESTIGATOR_ID)
    ]
    people = []
    for p in staff + office:
        add(day.start, {"type": "enroll", "person": p.id, "role": p.role, "sex": p.sex, "tag": p.tag})
        people.append({"person": p.id, "role": p.role, "sex": p.sex, "tag": p.tag})
    day.cameras.events(day.start, add)  # type: ignore[union-attr]  # day.cameras is set for every day before events are produced
    guardians = []
    for s in day.subjects:
        _subject_events(day, s, add)
        people.append({"person": s.id, "role": s.role, "sex": s.sex, "tag": s.tag})
        if s.guardian is not None:
            guardians.append(s.guardian)
            people.append(
                {"person": s.guardian.id, "role": "guardian", "sex": s.guardian.sex, "tag": s.guardian.tag, "for": s.id}
            )
    for extra in day.extra_events:
        add(extra["ts"], {k: v for k, v in extra.items() if k != "ts"})
    locker_events(day.ops, add)
    door_events(day.doors, add)
    discrete.sort(key=lambda d: (d[0], d[2]))
    discrete = [(ts, 0, i, ev) for i, (ts, _, _, ev) in enumerate(discrete)]

    readers = day.graph.readers
    agenda = []
    walking: list[Staff | Subject] = [*staff, *guardians, *day.subjects]
    for walker in walking:
        for a, b, zone in intervals(walker.moves):
            agenda.append((a, b, readers[zone], walker.tag))
    agenda.sort(key=lambda iv: (iv[0], iv[3]))
    if discrete and discrete[0][0] < day.start:
        raise ScenarioError(f"internal: an event at {discrete[0][0]} precedes the start of the day")
    last = max([discrete[-1][0] if discrete else day.start] + [iv[1] for iv in agenda])
    return Scenario(
        site_id=day.cfg.site.id,
        seed=seed,
        start_ms=day.start,
        end_ms=day.end,
        people=people,
        expected=expected,
        injected=tuple(rules),
        last_ts=last,
        _discrete=discrete,
        _agenda=agenda,
    )


def _subject_events(day: Day, s: Subject, add) -> None:
    """Desk events of one subject: check-in (with guardian), extension, temporary exits, welfare,
    decision, check-out with outcome (DESIGN §6.2)."""
    checkin = {
        "type": "checkin",
        "person": s.id,
        "role": s.role,
        "sex": s.sex,
        "tag": s.tag,
        "basis": s.basis,
        "case": s.case,
        "arrived_ts": s.arrived_ts,
        "extended": False,
        "minor": s.minor,
    }
    if s.age is not None:
        checkin["age"] = s.age
    if s.pregnant:
        checkin["pregnant"] = True
    if s.guardian is not None and s.guardian_named:
        checkin["guardian"] = s.guardian.id
    add(s.checkin_ts, checkin)
    if s.guardian is not None:
        # enrolled at the desk right after the check-in, before anyone is read
        g = s.guardian
        add(
            s.checkin_ts + 100,
            {"type": "enroll", "person": g.id, "role": "guardian", "sex": g.sex, "tag": g.tag, "for": s.id},
        )
    if s.extend:
        add((s.checkin_ts + s.checkout_ts) // 2, {"type": "extend", "person": s.id, "level": "extended"})
    for leave_ts, return_ts, reason, until_ts in s.exits:
        add(
            leave_ts,
            {"type": "leave", "person": s.id, "reason": reason, "until_ts": until_ts, "approved_by": SUPERVISOR_ID},
        )
        add(return_ts, {"type": "return", "person": s.id})
    _welfare(day, s, add)
    if s.decision:
        add(day.planner.decision_ts(s), {"type": "decision", "person": s.id, "kind": "criminal_detention"})
    checkout = {"type": "checkout", "person": s.id, "outcome": s.outcome}
    if s.released_to is not None:
        checkout["released_to"] = s.released_to
    add(s.checkout_ts, checkout)


def _welfare(day: Day, s: Subject, add) -> None:
    """Meals often enough for rules.meal_interval_h (and at least every MEAL_EVERY_MS), water."""
    rng = day.rng
    stay = s.checkout_ts - s.checkin_ts
    if rng.random() < WATER_SHARE and stay > 10 * MIN:
        add(s.checkin_ts + stay // 3, {"type": "welfare", "person": s.id, "kind": "water"})
    if s.no_meals:
        return
    interval = day.model.meal_interval_ms
    every = min(MEAL_EVERY_MS, interval * 2 // 3) if interval else MEAL_EVERY_MS
    tz = ZoneInfo(day.model.timezone)
    last = s.checkin_ts
    while True:
        # lunch or dinner (site time) if one comes first, else `every` after the last meal
        local = datetime.fromtimestamp(last / 1000, UTC).astimezone(tz)
        due = last + every
        for hour in MEAL_HOURS:
            at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
            at_ms = int(at.timestamp() * 1000)
            if last + 30 * MIN < at_ms < due:
                due = at_ms
        if due >= s.checkout_ts - 5 * MIN:
            return
        add(due, {"type": "welfare", "person": s.id, "kind": "meal"})
        last = due
