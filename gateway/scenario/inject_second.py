"""Injected violations of the second layer (DESIGN §3 "second layer", §6.2): a mixin of Injector.

Part of the scenario generator; see gateway/scenario/inject.py for how injections work (phases,
one subject/slot per injection, expectations computed from the final plan).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core_ext import vocab
from gateway.scenario.devices import UNAPPROVED_LEAD_MS, LockerOp
from gateway.scenario.inject_devices import HOLD_MS, SETTLE_MS, ExpectedAlert
from gateway.scenario.people import (
    GROUP_STEP_MS,
    INTERVIEW_TYPES,
    INVESTIGATOR_ID,
    MIN,
    Subject,
)
from gateway.scenario.route import ScenarioError

ELDERLY_AGE = 75
NIGHT_HOURS = (21, 7)  # [21:00, 07:00) site time: vulnerable_night_release
EXIT_OVERDUE_MS = 2 * MIN  # an overdue exit comes back this long after until_ts (out twice as long)
SEIZURE_DUE_AFTER_MS = 30 * MIN  # an injected seizure's intake deadline, after the seizure is registered


class SecondLayerInjections:
    """Second-layer injections; relies on Injector's day, used, pick, expect, grace, subjects,
    no_staff, walk_in and _escorts_step_out."""

    female_minor: Subject  # chosen at the draw phase, stepped out at the person phase
    temp_exit_subject: Subject

    if TYPE_CHECKING:  # provided by Injector (gateway/scenario/inject.py)
        day: Any
        used: set[str]

        def pick(self, rule: str, candidates: list[Any], why: str) -> Any: ...
        def expect(self, make: Callable[[], ExpectedAlert]) -> None: ...
        def grace(self, rule: str) -> int: ...
        def subjects(self, rule: str) -> list[Subject]: ...
        def no_staff(self, zone: str) -> bool: ...
        def walk_in(self, rule: str, pairs: list[Any], why: str) -> None: ...
        def _escorts_step_out(
            self, rule: str, s: Subject, zone: str, enter: int, leaving: list[Any]
        ) -> tuple[int, int]: ...

    # ------------------------------------------------------------------ helpers

    def require_zone_type(self, rule: str, *types: str) -> None:
        if not any(t in self.day.graph.by_type for t in types):
            raise ScenarioError(f"cannot inject {rule}: the site has no {' or '.join(types)} zone with a reader")

    def condition_in_stays(self, rule: str, s: Subject, types: tuple[str, ...]) -> list[ExpectedAlert]:
        """The condition holds for every stay of s in a zone of these types: raised after the grace,
        cleared when s is read in the next zone."""
        graph = self.day.graph
        out = []
        for z, a, b in s.stays():
            if graph.zone_type[z] in types:
                if b - a <= self.grace(rule):
                    raise ScenarioError(f"cannot inject {rule}: the stay of {s.id} in {z} is shorter than the grace")
                out.append(ExpectedAlert(rule, s.id, a + s.offset + self.grace(rule), rule, b + s.offset))
        if not out:
            raise ScenarioError(f"cannot inject {rule}: {s.id} never reaches a {' or '.join(types)} zone")
        return out

    def make_vulnerable(self, s: Subject) -> None:
        s.basis = vocab.VULNERABLE_BASIS
        s.role = "suspect"
        s.age, s.pregnant, s.minor = ELDERLY_AGE, False, False
        s.guardian = None
        s.extend = False
        s.no_waiting = True
        s.released_to = f"family of {s.id}"  # handed to family: no night-release alert

    def linger(self, rule: str, s: Subject, until: int) -> None:
        """Keep s's group in the exit hall (the last leg, a zone that is not a station) until `until`
        (group time), then check out."""
        graph = self.day.graph
        last = s.legs[-1][0]
        if graph.is_station(last) or graph.zone_cfg[last].effective_separate:
            raise ScenarioError(f"cannot inject {rule}: the route of {s.id} does not end in an exit hall to wait in")
        if until + 45_000 + s.team_size * GROUP_STEP_MS > self.day.end - 5 * MIN:
            raise ScenarioError(f"cannot inject {rule}: the day is too short (use more hours)")
        s.leave = max(s.leave, until + 45_000)

    # ------------------------------------------------------------------ draw phase

    def _draw_vulnerable_in_waiting(self, rule: str) -> None:
        self.require_zone_type(rule, "waiting")
        if "waiting" in self.day.cfg.required_steps:
            raise ScenarioError(f"cannot inject {rule}: the waiting room is a required step")
        s = self.pick(rule, self.subjects(rule), "no subject")
        self.used.add(s.id)
        self.make_vulnerable(s)
        s.no_waiting, s.force_waiting = False, True  # put in the waiting room all the same
        self.expect(lambda: self._single(rule, s, ("waiting",)))

    def _single(self, rule: str, s: Subject, types: tuple[str, ...]) -> ExpectedAlert:
        found = self.condition_in_stays(rule, s, types)
        if len(found) != 1:
            raise ScenarioError(f"internal: {s.id} visits {len(found)} {types} zones")
        return found[0]

    def _draw_minor_without_guardian(self, rule: str) -> None:
        self.require_zone_type(rule, *INTERVIEW_TYPES)
        men = [s for s in self.subjects(rule) if s.sex == "M" and s.basis != vocab.VULNERABLE_BASIS]
        s = self.pick(rule, men, "no male subject (off continued questioning) to make a minor")
        self.used.add(s.id)
        s.minor, s.age, s.guardian = True, 17, None  # brought in without a guardian
        s.needs_interview = True
        s.no_waiting = False
        self.expect(lambda: self._single(rule, s, INTERVIEW_TYPES))

    def _draw_female_minor_without_female_staff(self, rule: str) -> None:
        self.require_zone_type(rule, *INTERVIEW_TYPES)
        subjects = [s for s in self.subjects(rule) if s.basis != vocab.VULNERABLE_BASIS]
        women = [s for s in subjects if s.sex == "F"]
        s = self.pick(rule, women or subjects, "no subject off continued questioning")
        self.used.add(s.id)
        s.sex, s.minor, s.age = "F", True, 16
        s.one_woman = True  # one woman in the escort (for the search) and enough men without her
        s.needs_interview = True
        self.day.planner.second_layer(s)  # with a guardian
        self.female_minor = s

    # ------------------------------------------------------------------ group phase

    def _groups_mixed_sex_waiting(self, rule: str) -> None:
        self.require_zone_type(rule, "waiting")
        day = self.day
        graph, planner = day.graph, day.planner
        free = [s for s in day.subjects if s.id not in self.used]
        pairs = []
        for a in free:
            for z, a0, a1 in a.stays():
                if graph.zone_type[z] != "waiting":
                    continue
                for b in free:
                    if b.sex != a.sex and b.case != a.case and not planner.vulnerable(b):
                        pairs.append((a, b, z, a0, a1))
        self.walk_in(rule, pairs, "no two subjects of different sex are on site at the same time long enough")

    def _draw_temp_exit_overdue(self, rule: str) -> None:
        self.require_zone_type(rule, *INTERVIEW_TYPES)
        s = self.pick(rule, [x for x in self.subjects(rule) if not x.minor_flag], "no adult subject")
        self.used.add(s.id)
        s.min_interview_ms = 2 * EXIT_OVERDUE_MS + 4 * MIN
        s.needs_interview = True
        self.temp_exit_subject = s

    def _groups_temp_exit_overdue(self, rule: str) -> None:
        """Taken out during the interview and back EXIT_OVERDUE_MS after the approved time."""
        s = self.temp_exit_subject
        if not self.day.planner.plan_exit(s, "identify_scene", -EXIT_OVERDUE_MS, away=2 * EXIT_OVERDUE_MS, settle=MIN):
            raise ScenarioError(f"cannot inject {rule}: the interview of {s.id} is too short for a temporary exit")

        def make() -> ExpectedAlert:
            _, return_ts, _, until_ts = s.exits[0]
            return ExpectedAlert(rule, s.id, until_ts, rule, return_ts)

        self.expect(make)

    def _groups_transfer_overdue(self, rule: str) -> None:
        day = self.day
        limit = day.model.transfer_limit_ms
        subjects = sorted(self.subjects(rule), key=lambda x: (x.legs[-1][1], x.id))
        s = next(
            (
                x
                for x in subjects
                if not day.graph.is_station(x.legs[-1][0]) and not day.planner.vulnerable(x) and not x.minor_flag
            ),
            None,
        )
        if s is None:
            raise ScenarioError(f"cannot inject {rule}: no subject's route ends in an exit hall to wait in")
        self.used.add(s.id)
        s.role, s.decision, s.outcome, s.extend = "suspect", True, "criminal_detention", False
        decided = day.planner.decision_ts(s)
        self.linger(rule, s, decided + limit + HOLD_MS)
        self.expect(lambda: ExpectedAlert(rule, s.id, day.planner.decision_ts(s) + limit, rule, s.checkout_ts))

    def _groups_meal_overdue(self, rule: str) -> None:
        day = self.day
        interval = day.model.meal_interval_ms
        if not interval:
            raise ScenarioError(f"cannot inject {rule}: the site sets no rules.meal_interval_h")
        planner = day.planner
        for s in sorted(self.subjects(rule), key=lambda x: (x.arrival, x.id)):
            if day.graph.is_station(s.legs[-1][0]) or planner.vulnerable(s) or s.decision:
                continue
            s.extend = False
            until = s.checkin_ts + interval + HOLD_MS
            if until + 2 * MIN <= planner.budget_end(s) - s.team_size * GROUP_STEP_MS:
                break
        else:
            raise ScenarioError(
                f"cannot inject {rule}: no subject can stay rules.meal_interval_h within the time limits and the day"
            )
        self.used.add(s.id)
        s.no_meals = True
        self.linger(rule, s, until)
        self.expect(lambda: ExpectedAlert(rule, s.id, s.checkin_ts + interval, rule, s.checkout_ts))

    def _draw_vulnerable_night_release(self, rule: str) -> None:
        """A vulnerable subject brought in late in the evening is released at night on their own."""
        day = self.day
        tz = ZoneInfo(day.model.timezone)

        def hour(ts: int) -> int:
            return datetime.fromtimestamp(ts / 1000, UTC).astimezone(tz).hour

        night_from, night_to = NIGHT_HOURS
        # arrivals from 21:00 to 03:00: done within the vulnerable limit, still at night
        candidates = [s for s in self.subjects(rule) if hour(s.arrival) >= night_from or hour(s.arrival) < 3]
        s = self.pick(
            rule, candidates, "no subject is brought in between 21:00 and 03:00 site time; generate a longer day"
        )
        self.used.add(s.id)
        self.make_vulnerable(s)
        s.released_to = None

        def make() -> ExpectedAlert:
            h = hour(s.checkout_ts)
            if not (h >= night_from or h < night_to):
                raise ScenarioError(f"cannot inject {rule}: {s.id} is released at {h}:00, not at night")
            return ExpectedAlert(rule, s.id, s.checkout_ts, rule, None)

        self.expect(make)

    # ------------------------------------------------------------------ person phase

    def _persons_female_minor_without_female_staff(self, rule: str) -> None:
        s = self.female_minor
        graph = self.day.graph
        need = self.grace(rule) + HOLD_MS + 3 * SETTLE_MS
        stays = [
            (z, a, b)
            for z, a, b in s.stays()
            if graph.zone_type[z] in INTERVIEW_TYPES and b - a >= need and self.no_staff(z)
        ]
        if not stays:
            raise ScenarioError(f"cannot inject {rule}: {s.id} has no interview long enough")
        zone, enter, _ = stays[0]
        women = [o for o in s.escorts if o.sex == "F"]
        if len(women) != 1 or women[0] is not s.escorts[0]:
            raise ScenarioError(f"internal: the escort of {s.id} has {len(women)} women")
        t, t_back = self._escorts_step_out(rule, s, zone, enter, women)
        self.expect(lambda: ExpectedAlert(rule, s.id, t + self.grace(rule), rule, t_back))

    # ------------------------------------------------------------------ locker phase

    def _lockers_belongings_not_returned(self, rule: str) -> None:
        day = self.day
        releases = [
            op for op in day.ops if op.kind == "release" and op.owner not in self.used and op.slot_name not in self.used
        ]
        op = self.pick(rule, releases, "no subject deposits belongings (no locker in a room on the route)")
        day.ops.remove(op)
        self.used.update((op.slot_name, op.owner))
        owner = next(s for s in day.subjects if s.id == op.owner)
        self.expect(lambda: ExpectedAlert(rule, owner.id, owner.checkout_ts, rule, None))

    def _lockers_workorder_unapproved(self, rule: str) -> None:
        """A work order first sent without its approval (then again, approved); on a day without work
        orders, an unapproved withdrawal request for an item in a slot, which opens nothing."""
        day = self.day
        if not day.model.workorder_requires_approval:
            raise ScenarioError(f"cannot inject {rule}: the site does not set rules.workorder_requires_approval")
        orders = [
            op
            for op in day.ops
            if op.kind in ("withdraw", "return", "dispose", "release")
            and op.slot_name not in self.used
            and op.items != []
        ]
        if orders:
            op = self.pick(rule, orders, "")
            op.approved = False
            self.used.add(op.slot_name)
            self.expect(lambda: ExpectedAlert(rule, op.slot_name, op.auth_ts - UNAPPROVED_LEAD_MS, rule, None))
            return
        intakes = [
            op
            for op in day.ops
            if op.kind == "intake"
            and op.items
            and op.slot_name not in self.used
            and op.close_ts + 2 * MIN < day.end - 5 * MIN
        ]
        first = self.pick(rule, intakes, "no locker work this day")
        t = first.close_ts + 2 * MIN
        bare = LockerOp(
            first.bank,
            first.slot,
            "unapproved",
            [first.items[0]],
            first.case,
            first.by,
            t + UNAPPROVED_LEAD_MS,
            t + UNAPPROVED_LEAD_MS,
            t + UNAPPROVED_LEAD_MS,
            approved=False,
        )
        day.ops.append(bare)
        self.used.add(first.slot_name)
        self.expect(lambda: ExpectedAlert(rule, first.slot_name, t, rule, None))

    def _lockers_intake_overdue(self, rule: str) -> None:
        """An officer registers a seizure that is never taken into the property room."""
        day = self.day
        within = day.model.intake_within_ms
        ts = day.start + 10 * MIN
        due = ts + min(SEIZURE_DUE_AFTER_MS, within, (day.end - ts) // 4)
        item = "seized-0001"
        day.extra_events.append(
            {
                "ts": ts,
                "type": "seizure",
                "item": item,
                "case": "case-seized",
                "by": INVESTIGATOR_ID,
                "seized_ts": due - within,
            }
        )
        self.used.add(item)
        self.expect(lambda: ExpectedAlert(rule, item, due, rule, None))
