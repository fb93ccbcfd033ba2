"""Injected violations of the device rules (lockers, cameras, doors): a mixin of Injector.

Part of the scenario generator; see gateway/scenario/inject.py for how injections work. This
file also holds what both halves share: ExpectedAlert and the timing constants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.scenario.devices import WORKORDER_OPEN_AFTER_MS, Cameras, DoorCycle, LockerOp, authorised
from gateway.scenario.people import MIN, Subject
from gateway.scenario.route import ScenarioError

HOLD_MS = 60_000  # how long past the grace an injected condition lasts
SETTLE_MS = 30_000  # a group settles this long in a room before anything happens


@dataclass(frozen=True)
class ExpectedAlert:
    """An alert the engine must raise because of an injection."""

    rule: str
    subject: str  # person id, item id, `<bank>/<slot>` or door id (DESIGN §6.2)
    ts: int  # when it is raised
    injected: str  # the injection that causes it
    cleared_ts: int | None  # when it is cleared, if the injection ends the condition; else None


class DeviceInjections:
    """Locker, camera and door injections; relies on Injector's day, used, pick, expect,
    grace and long_stays."""

    if TYPE_CHECKING:  # provided by Injector (gateway/scenario/inject.py)
        day: Any
        used: set[str]

        def pick(self, rule: str, candidates: list[Any], why: str) -> Any: ...
        def expect(self, make: Callable[[], ExpectedAlert]) -> None: ...
        def grace(self, rule: str) -> int: ...
        def long_stays(self, rule: str, need_ms: int, ok: Callable[[Subject, str], bool]) -> list[Any]: ...

    # ------------------------------------------------------------------ locker phase

    def slots_in_use(self) -> dict[str, list[LockerOp]]:
        by_slot: dict[str, list[LockerOp]] = {}
        for op in self.day.ops:
            by_slot.setdefault(op.slot_name, []).append(op)
        return by_slot

    def unused_slot_ops(self, by_slot: dict[str, list[LockerOp]]) -> Iterator[tuple[LockerOp, LockerOp | None]]:
        """Each operation on a slot no injection uses yet, with the next one on that slot (None
        after the last), slot by slot in name order."""
        for name, ops in sorted(by_slot.items()):
            if name in self.used:
                continue
            ops = sorted(ops, key=lambda o: o.open_ts)
            yield from zip(ops, ops[1:] + [None])

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
                        op.open_ts - MIN < t + 20_000 and t - MIN < op.close_ts for op in ops
                    ):
                        continue
                    by = (day.planner.stationed + day.custodians + day.planner.officers)[0]
                    day.ops.append(LockerOp(bank.id, number, "peek", [], "", by, t - 5_000, t, t + 15_000))
                    self.used.add(name)
                    self.expect(lambda name=name, t=t: ExpectedAlert(rule, name, t, rule, None))  # type: ignore[misc]  # default arguments bind the loop's values; mypy cannot infer such a lambda
                    return
        raise ScenarioError(f"cannot inject {rule}: every slot is covered by an intake or work order all day")

    def _lockers_item_mismatch(self, rule: str) -> None:
        self.require_lockers(rule)
        by_slot = self.slots_in_use()
        candidates = [name for name in sorted(by_slot) if name not in self.used]
        name = self.pick(
            rule,
            candidates,
            "no slot sees any locker work this day (no subject reaches a room with a bank; add subjects)",
        )
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
            assert op.items is not None  # a withdrawal names its items
            item = op.items[0]
            if op.owner is not None:
                # the phone is still out when its owner leaves: held belongings (DESIGN §6.2 "Check-out")
                owner = next(s for s in day.subjects if s.id == op.owner)
                self.expect(lambda: ExpectedAlert("belongings_not_returned", owner.id, owner.checkout_ts, rule, None))
        self.used.add(op.slot_name)
        self.expect(lambda: ExpectedAlert(rule, item, op.due_ts, rule, None))

    def _belongings_withdraw(self, rule: str, by_slot: dict[str, list[LockerOp]]) -> LockerOp:
        """An item is withdrawn after its intake (in a handling area: a subject's phone taken for
        examination) and never comes back."""
        day = self.day
        candidates = []
        for first, second in self.unused_slot_ops(by_slot):
            start = first.close_ts + 5 * MIN
            due = start + 15 * MIN
            if (
                first.kind == "intake"
                and (second is None or second.auth_ts - start > 4 * MIN)
                and due < day.end - 5 * MIN
            ):
                candidates.append((first, start, due))
        first, start, due = self.pick(rule, candidates, "no locker holds items long enough to withdraw one")
        op = LockerOp(
            first.bank,
            first.slot,
            "withdraw",
            [first.items[0]],
            first.case,
            first.by,
            start,
            start + WORKORDER_OPEN_AFTER_MS,
            start + WORKORDER_OPEN_AFTER_MS + 20_000,
            due_ts=due,
            owner=first.owner,
        )
        day.ops.append(op)
        return op

    def _lockers_slot_left_open(self, rule: str) -> None:
        self.require_lockers(rule)
        day = self.day
        limit = day.model.slot_open_max_ms
        by_slot = self.slots_in_use()
        candidates = []
        for op, nxt in self.unused_slot_ops(by_slot):
            close = op.open_ts + limit + HOLD_MS
            # not a release: its owner would leave while the slot still holds their belongings
            if op.kind != "release" and close < day.end - 5 * MIN and (nxt is None or nxt.auth_ts - 2 * MIN > close):
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
