"""Locker work, doors and cameras of a scenario day.

Part of the scenario generator (gateway/scenario/generator.py); pure computation, times in integer ms.

Lockers. Every slot operation is planned as a LockerOp (who, which slot, which authorisation,
open and close times); the items sensed at each close are computed at the end by replaying the
slot's ledger in time order, so edits made by the injections (a removed return, an extra item)
stay consistent with everything after them.

Cameras record from the start of the day. A blip (stopped or offline, then recording again)
is only placed where it cannot open a recording gap: on one camera of a zone whose other
camera keeps recording, or in a zone no subject is in (with a margin).

Doors open and close briefly whenever a group passes the door's zone; cycles that would
overlap are merged or pushed apart so no door stays open near its limit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core_ext.site import SiteModel
from gateway.scenario.people import (
    INVESTIGATOR_ID,
    MIN,
    SUPERVISOR_ID,
    Staff,
    Subject,
    uniform_ms,
)
from gateway.scenario.route import ScenarioError, SiteGraph

BADGE_LEAD_MS = 2_000
INTAKE_OPEN_AFTER_MS = 20_000
WORKORDER_OPEN_AFTER_MS = 30_000
SLOT_OPEN_MS = (15_000, 45_000)
WORKORDER_VALID_MS = 30 * MIN
CUSTODIAN_WALK_MS = 40_000
BELONGING_KINDS = ("phone", "wallet", "keys", "belt", "bag", "watch")
BLIP_MS = (20_000, 150_000)
BLIP_MARGIN_MS = 10_000
DOOR_PASS_MS = (3_000, 8_000)


def intake_open_after_ms(graph: SiteGraph) -> int:
    """Slot opened this long after an intake: well inside the site's intake window."""
    return min(INTAKE_OPEN_AFTER_MS, int(graph.cfg.rules.intake_window_s * 1000) // 2)


def slot_open_ms(rng: random.Random, graph: SiteGraph) -> int:
    """How long a slot stays open: well inside the site's slot_open_max."""
    return min(uniform_ms(rng, SLOT_OPEN_MS), int(graph.cfg.rules.slot_open_max_s * 1000) // 2)


@dataclass
class LockerOp:
    bank: str
    slot: int
    kind: str  # intake, withdraw, return, dispose, release, peek (an unauthorised opening),
    #                            unapproved (a work order without approval that opens nothing)
    items: list[str] | None  # None on a dispose: every item of `owner` still in the slot
    case: str
    by: Staff
    auth_ts: int  # intake or work order time (also its valid_from)
    open_ts: int
    close_ts: int
    due_ts: int | None = None
    owner: str | None = None
    seized_ts: int | None = None  # intake of seized case property: when it was seized
    seized_by: str | None = None  # ... and by which officer (a `seizure` event precedes the intake)
    approved: bool = True  # False: an extra work order without an approver precedes this one
    extra_sensed: list[str] = field(default_factory=list)
    sensed: list[str] = field(default_factory=list)  # filled by finish_lockers

    @property
    def slot_name(self) -> str:
        return f"{self.bank}/{self.slot}"


def belongings_ops(
    rng: random.Random, graph: SiteGraph, subjects: list[Subject], custodians: dict[str, Staff]
) -> list[LockerOp]:
    """Handling area: each subject's belongings (intake with `owner`) go into a slot while they are in
    the belongings room and are released to them (a `release` work order) just before they leave."""
    banks_by_zone: dict[str, list] = {}
    # a bank without a zone serves the belongings room, else the first intake desk there is
    desk = next(
        (
            graph.by_type[t][0]
            for t in ("belongings", "registration", "security_check", "info_collection", "identification")
            if t in graph.by_type
        ),
        None,
    )
    for bank in graph.cfg.lockers:
        zone = bank.zone if bank.zone is not None else desk
        if zone is not None:
            banks_by_zone.setdefault(zone, []).append(bank)
    slot_free: dict[tuple[str, int], int] = {}
    ops: list[LockerOp] = []
    for s in sorted(subjects, key=lambda x: x.arrival):
        stay = next(((z, a, b) for z, a, b in s.stays() if z in banks_by_zone), None)
        if stay is None:
            continue
        zone, enter, leave = stay
        auth = enter + 30_000
        open_ts = auth + intake_open_after_ms(graph)
        close = open_ts + slot_open_ms(rng, graph)
        if close >= leave:
            continue
        release_auth = max(s.checkout_ts - 150_000, close + 60_000)
        release_close = release_auth + WORKORDER_OPEN_AFTER_MS + slot_open_ms(rng, graph)
        if release_close >= s.checkout_ts:
            continue  # no time to give them back before check-out: nothing is deposited (documented)
        slot = _free_slot(banks_by_zone[zone], slot_free, auth)
        if slot is None:
            continue  # bank full: the subject keeps nothing in a locker (documented)
        bank_id, number = slot
        slot_free[slot] = release_close + 60_000
        by = custodians.get(zone) or s.escorts[0]
        count = 1 + int(rng.random() * 3)
        kinds = rng.sample(BELONGING_KINDS, count)
        items = [f"{s.id}-{k}" for k in kinds]
        ops.append(LockerOp(bank_id, number, "intake", items, s.case, by, auth, open_ts, close, owner=s.id))
        ops.append(
            LockerOp(
                bank_id,
                number,
                "release",
                None,
                s.case,
                by,
                release_auth,
                release_auth + WORKORDER_OPEN_AFTER_MS,
                release_close,
                owner=s.id,
            )
        )
    return ops


def _free_slot(banks: list, slot_free: dict, at: int) -> tuple[str, int] | None:
    best = None
    for bank in banks:
        for number in range(1, bank.slots + 1):
            free = slot_free.get((bank.id, number), 0)
            if free <= at and (best is None or free < best[0]):
                best = (free, (bank.id, number))
    return None if best is None else best[1]


class PropertyRoom:
    """Property room day: cases' items taken in, withdrawn under work orders and returned
    before their due time, some disposed; custodians walk to the bank for each operation."""

    def __init__(
        self,
        rng: random.Random,
        graph: SiteGraph,
        start: int,
        end: int,
        custodians: list[Staff],
        home: str,
        investigator: str = INVESTIGATOR_ID,
    ):
        self.rng = rng
        self.graph = graph
        self.start = start
        self.end = end
        self.custodians = custodians
        self.home = home
        self.busy_until = {c.id: start for c in custodians}
        self.slot_free: dict[tuple[str, int], int] = {}
        self.slot_cases: dict[tuple[str, int], int] = {}
        self.ops: list[LockerOp] = []
        self.investigator = investigator

    def plan(self, n_cases: int) -> list[LockerOp]:
        rng = self.rng
        if not self.graph.cfg.lockers:
            return []
        wanted: list[tuple[int, int, str, list[str], str, int | None, tuple[str, int] | None]] = []
        last = self.end - 60 * MIN
        span = max(1, last - (self.start + 10 * MIN))
        seq = 0
        for c in range(n_cases):
            case = f"case-{c + 1:04d}"
            t = self.start + 10 * MIN + int(span * (c + rng.random()) / max(1, n_cases))
            items = [f"ev-{c + 1:04d}-{k + 1}" for k in range(1 + int(rng.random() * 3))]
            seq += 1
            wanted.append((t, seq, "intake", items, case, None, None))
            for item in items:
                when = t
                if rng.random() < 0.4:
                    w = when + uniform_ms(rng, (30 * MIN, 180 * MIN))
                    due = w + uniform_ms(rng, (60 * MIN, 180 * MIN))
                    back = w + int((due - w) * (0.3 + 0.3 * rng.random()))
                    if due < self.end - 15 * MIN:
                        seq += 1
                        wanted.append((w, seq, "withdraw", [item], case, due, None))
                        seq += 1
                        wanted.append((back, seq, "return", [item], case, due, None))
                        when = back
                if rng.random() < 0.25:
                    d = when + uniform_ms(rng, (30 * MIN, 180 * MIN))
                    if d < self.end - 15 * MIN:
                        seq += 1
                        wanted.append((d, seq, "dispose", [item], case, None, None))
        wanted.sort(key=lambda w: (w[0], w[1]))
        item_slot: dict[str, tuple[str, int]] = {}
        item_ready: dict[str, int] = {}
        for t, _, kind, items, case, due_ts, _ in wanted:
            if kind == "intake":
                slot = self._slot_for_case(t)
                for it in items:
                    item_slot[it] = slot
            else:
                slot = item_slot[items[0]]
            t = max([t, self.slot_free.get(slot, self.start)] + [item_ready.get(it, 0) for it in items])
            op = self._operate(slot, kind, items, case, t, due_ts)
            if due_ts is not None and kind == "return" and op.close_ts >= due_ts:
                raise ScenarioError(f"internal: return of {items[0]} planned after its due time")
            for it in items:
                item_ready[it] = op.close_ts + 60_000
        return self.ops

    def _slot_for_case(self, t: int) -> tuple[str, int]:
        best = None
        for bank in self.graph.cfg.lockers:
            for number in range(1, bank.slots + 1):
                key = (bank.id, number)
                rank = (self.slot_cases.get(key, 0), self.slot_free.get(key, 0))
                if best is None or rank < best[0]:
                    best = (rank, key)
        slot = best[1]  # type: ignore[index]  # a property room has at least one locker slot, so the loop set best
        self.slot_cases[slot] = self.slot_cases.get(slot, 0) + 1
        return slot

    def _operate(
        self, slot: tuple[str, int], kind: str, items: list[str], case: str, t: int, due: int | None
    ) -> LockerOp:
        custodian = min(self.custodians, key=lambda c: (max(self.busy_until[c.id], t), c.id))
        t = max(t, self.busy_until[custodian.id] + CUSTODIAN_WALK_MS)
        auth = t
        open_ts = auth + (intake_open_after_ms(self.graph) if kind == "intake" else WORKORDER_OPEN_AFTER_MS)
        close = open_ts + slot_open_ms(self.rng, self.graph)
        bank_zone = next((b.zone for b in self.graph.cfg.lockers if b.id == slot[0]), None) or self.home
        if bank_zone != self.home and bank_zone in self.graph.readers:
            custodian.moves.append((auth - CUSTODIAN_WALK_MS, bank_zone))
            custodian.moves.append((close + 20_000, self.home))
        self.busy_until[custodian.id] = close + 20_000
        self.slot_free[slot] = close + 30_000
        op = LockerOp(
            slot[0],
            slot[1],
            kind,
            list(items),
            case,
            custodian,
            auth,
            open_ts,
            close,
            due_ts=due if kind == "withdraw" else None,
        )
        if kind == "intake":
            # seized by the case's officer earlier (within the 24 h to hand it over), registered then
            within = int(self.graph.cfg.rules.intake_within_h * 3_600_000)
            lead = min(uniform_ms(self.rng, SEIZURE_LEAD_MS), within // 2)
            op.seized_ts = max(self.start, auth - lead)
            op.seized_by = self.investigator
        self.ops.append(op)
        return op


def finish_lockers(ops: list[LockerOp]) -> list[LockerOp]:
    """Replay each slot's ledger in time order: fill in disposed items and the sensed sets.
    Dispose operations that find nothing of their owner left are dropped."""
    ledgers: dict[tuple[str, int], set[str]] = {}
    owner_of: dict[str, str] = {}
    kept = []
    for op in sorted(ops, key=lambda o: (o.open_ts, o.bank, o.slot)):
        ledger = ledgers.setdefault((op.bank, op.slot), set())
        if op.kind == "intake":
            ledger.update(op.items or ())
            for it in op.items or ():
                if op.owner:
                    owner_of[it] = op.owner
        elif op.kind in ("withdraw", "dispose", "release") and op.items is not None:
            ledger.difference_update(op.items)
        elif op.kind in ("dispose", "release"):
            op.items = sorted(it for it in ledger if owner_of.get(it) == op.owner)
            if not op.items:
                continue
            ledger.difference_update(op.items)
        elif op.kind == "return":
            ledger.update(op.items or ())
        elif op.kind == "unapproved":
            kept.append(op)  # opens nothing, changes nothing
            continue
        op.sensed = sorted(ledger | set(op.extra_sensed))
        kept.append(op)
    return kept


APPROVER = SUPERVISOR_ID  # the supervisor who approves every generated work order
UNAPPROVED_LEAD_MS = 5_000  # an injected unapproved order comes this long before the approved one
SEIZURE_LEAD_MS = (20 * MIN, 180 * MIN)  # property room: seized this long before the intake


def locker_events(ops: list[LockerOp], add) -> None:
    """Emit badge, seizure, intake/work order and locker events of every operation via add(ts, event)."""
    for n, op in enumerate(sorted(ops, key=lambda o: (o.auth_ts, o.bank, o.slot))):
        if op.kind == "unapproved":
            # a withdrawal request sent without its approval: it authorises nothing, nobody opens
            add(
                op.auth_ts - UNAPPROVED_LEAD_MS,
                {
                    "type": "workorder",
                    "id": f"wo-{n + 1:05d}-u",
                    "item": (op.items or [""])[0],
                    "action": "withdraw",
                    "bank": op.bank,
                    "slot": op.slot,
                    "by": op.by.id,
                    "valid_from": op.auth_ts,
                    "valid_until": op.auth_ts + WORKORDER_VALID_MS,
                    "requested_by": op.by.id,
                },
            )
            continue
        add(op.auth_ts - BADGE_LEAD_MS, {"type": "badge", "bank": op.bank, "tag": op.by.tag})
        if op.kind == "intake":
            for item in op.items or ():
                if op.seized_ts is not None:
                    add(
                        op.seized_ts,
                        {
                            "type": "seizure",
                            "item": item,
                            "case": op.case,
                            "by": op.seized_by,
                            "seized_ts": op.seized_ts,
                        },
                    )
                ev = {"type": "intake", "item": item, "case": op.case, "bank": op.bank, "slot": op.slot, "by": op.by.id}
                if op.owner is not None:
                    ev["owner"] = op.owner
                if op.seized_ts is not None:
                    ev["seized_ts"] = op.seized_ts
                add(op.auth_ts, ev)
        elif op.kind in ("withdraw", "return", "dispose", "release"):
            for k, item in enumerate(op.items or ()):
                ev = {
                    "type": "workorder",
                    "id": f"wo-{n + 1:05d}-{k + 1}",
                    "item": item,
                    "action": op.kind,
                    "bank": op.bank,
                    "slot": op.slot,
                    "by": op.by.id,
                    "valid_from": op.auth_ts,
                    "valid_until": op.auth_ts + WORKORDER_VALID_MS,
                    # requested by the one who records it (the desk allows no one else), approved
                    # by a supervisor: rules.workorder_requires_approval wants two people
                    "requested_by": op.by.id,
                    "approved_by": APPROVER,
                }
                if op.due_ts is not None:
                    ev["due_ts"] = op.due_ts
                if not op.approved and k == 0:
                    # the request first sent without its approval (injected workorder_unapproved)
                    bare = {key: v for key, v in ev.items() if key != "approved_by"}
                    bare["id"] = f"wo-{n + 1:05d}-u"
                    add(op.auth_ts - UNAPPROVED_LEAD_MS, bare)
                add(op.auth_ts, ev)
        add(op.open_ts, {"type": "locker", "bank": op.bank, "slot": op.slot, "state": "open"})
        add(
            op.close_ts,
            {"type": "locker", "bank": op.bank, "slot": op.slot, "state": "closed", "items": list(op.sensed)},
        )


def authorised(ops: list[LockerOp], bank: str, slot: int, ts: int, intake_window_ms: int) -> bool:
    """Would an opening of bank/slot at ts be covered by an intake or a work order?"""
    for op in ops:
        if op.bank != bank or op.slot != slot or op.kind in ("peek", "unapproved"):
            continue
        until = op.auth_ts + (intake_window_ms if op.kind == "intake" else WORKORDER_VALID_MS)
        if op.auth_ts <= ts <= until:
            return True
    return False


# ---------------------------------------------------------------------------- cameras


class Cameras:
    """Camera outages of the day (injected gaps first, then harmless blips)."""

    def __init__(self, model: SiteModel, occupancy: dict[str, list[tuple[int, int]]]):
        self.model = model
        self.occupancy = occupancy  # zone -> subject presence intervals (engine view)
        self.outages: dict[str, list[tuple[int, int, str]]] = {c: [] for c in model.camera_ids}

    def out_during(self, camera: str, a: int, b: int) -> bool:
        return any(x < b and a < y for x, y, _ in self.outages[camera])

    def add_outage(self, camera: str, a: int, b: int, state: str) -> None:
        self.outages[camera].append((a, b, state))

    def blip_is_harmless(self, camera: str, a: int, b: int) -> bool:
        m = self.model
        lo, hi = a - BLIP_MARGIN_MS, b + BLIP_MARGIN_MS
        if self.out_during(camera, lo, hi):
            return False
        for zi in m.camera_zones[m.camera_index[camera]]:
            if not m.zone_requires_recording[zi]:
                continue
            zone = m.zone_ids[zi]
            others = [m.camera_ids[c] for c in m.zone_cameras[zi] if m.camera_ids[c] != camera]
            if any(not self.out_during(o, lo, hi) for o in others):
                continue
            if any(x < hi and lo < y for x, y in self.occupancy.get(zone, ())):
                return False
        return True

    def place_blips(self, rng: random.Random, start: int, end: int) -> None:
        hours = (end - start) / 3_600_000
        for camera in self.model.camera_ids:
            wanted = int(hours / 8 + rng.random() * hours / 8 + 0.5)
            for _ in range(wanted):
                for _attempt in range(6):
                    a = start + 10 * MIN + int(rng.random() * max(1, end - start - 20 * MIN))
                    b = a + uniform_ms(rng, BLIP_MS)
                    if b < end - 5 * MIN and self.blip_is_harmless(camera, a, b):
                        self.add_outage(camera, a, b, "offline" if rng.random() < 0.4 else "stopped")
                        break

    def events(self, start: int, add) -> None:
        for camera in self.model.camera_ids:
            add(start, {"type": "camera", "camera": camera, "state": "recording"})
            for a, b, state in self.outages[camera]:
                add(a, {"type": "camera", "camera": camera, "state": state})
                if state == "offline":
                    add(b - 1_000, {"type": "camera", "camera": camera, "state": "online"})
                add(b, {"type": "camera", "camera": camera, "state": "recording"})


# ---------------------------------------------------------------------------- doors


@dataclass
class DoorCycle:
    door: str
    open_ts: int
    close_ts: int
    tag: str | None = None  # who badged, if anyone
    state: str = "open"  # "forced" for a forced door


def door_cycles(
    rng: random.Random,
    graph: SiteGraph,
    passes: list[tuple[int, str, str | None]],
    start: int,
    end: int,
    door_open_max_ms: int,
) -> list[DoorCycle]:
    """One short cycle per pass (ts, zone, tag) through a door's zone; merged so none lasts
    longer than half the door's limit."""
    cycles: list[DoorCycle] = []
    for door in graph.cfg.doors:
        raw: list[tuple[int, int, str | None]] = []
        if door.zone is None:
            t = start + uniform_ms(rng, (20 * MIN, 90 * MIN))
            while t < end - 5 * MIN:
                raw.append((t, t + uniform_ms(rng, DOOR_PASS_MS), None))
                t += uniform_ms(rng, (20 * MIN, 90 * MIN))
        else:
            for ts, zone, tag in passes:
                if zone == door.zone:
                    raw.append((ts - 1_500, ts + uniform_ms(rng, DOOR_PASS_MS), tag))
        limit = door_open_max_ms // 2
        raw = sorted(((a, min(b, a + limit), tag) for a, b, tag in raw), key=lambda r: r[0])
        merged: list[DoorCycle] = []
        for a, b, tag in raw:
            if merged and a <= merged[-1].close_ts + 1_000:
                last = merged[-1]
                if max(b, last.close_ts) - last.open_ts <= limit:
                    last.close_ts = max(b, last.close_ts)
                    continue
                a = last.close_ts + 1_000
                b = max(b, a + 2_000)
            merged.append(DoorCycle(door.id, a, b, tag))
        cycles.extend(merged)
    return cycles


def door_events(cycles: list[DoorCycle], add) -> None:
    for c in cycles:
        if c.tag is not None and c.state == "open":
            add(c.open_ts - 500, {"type": "badge", "reader": c.door, "tag": c.tag})
        add(c.open_ts, {"type": "door", "door": c.door, "state": c.state})
        add(c.close_ts, {"type": "door", "door": c.door, "state": "closed"})
