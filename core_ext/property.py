"""Lockers, items and doors: the property half of the engine, shared by both cores.

Property events are a trickle next to tag reads, so one Python implementation serves the
reference engine and the compiled core alike (the compiled core keeps only people and zones
in C). The owning engine supplies its timer heap (`push`) and output list (`alert`), so
timers and outputs interleave with the person rules exactly as in a single engine.

Semantics (DESIGN §6.2 "Lockers"): an intake puts an item in a slot's ledger and authorises
the slot for `intake_window`; a work order authorises its slot from valid_from to
valid_until. At the close after an opening, a withdraw item sensed absent is out (overdue
armed at due_ts), a return item sensed present is back in, a dispose item sensed absent
leaves the ledger and closes its trail; any other difference is an item_mismatch. The ledger
is never rewritten to match what was sensed: it is the legal record.
"""
from __future__ import annotations

from typing import Callable

from core_ext.codes import (
    CLEARED, DOOR_CLOSED, DOOR_FORCED, IT_DISPOSED, IT_INTAKE, IT_MISSING, IT_OPEN, IT_OVERDUE,
    IT_OVERDUE_CLEARED, IT_RETURNED, IT_UNEXPECTED, IT_WITHDRAWN, IT_WORKORDER, ITEM_DISPOSED,
    ITEM_IN, ITEM_NONE, ITEM_OUT, LOCKER_OPEN, OUT_ITEM_TRAIL, R_DOOR_FORCED, R_DOOR_HELD,
    R_MISMATCH, R_OVERDUE, R_SLOT_OPEN, R_UNAUTH, RAISED, T_DOOR, T_OVERDUE, T_SLOT, W_DISPOSE,
    W_RETURN, W_WITHDRAW,
)
from core_ext.site import SiteModel

Push = Callable[[int, int, int, int], None]          # (deadline, timer kind, ident, generation)
Alert = Callable[..., None]                           # (ts, rule, state, subject, zone, n1, n2, l1, l2)


class Slot:
    # plain __slots__ classes pickle with protocol >= 2, which engine snapshots rely on
    __slots__ = ("open", "open_ts", "gen", "left_raised", "ledger", "auth", "cover", "by")

    def __init__(self) -> None:
        self.open = False
        self.open_ts = 0
        self.gen = 0
        self.left_raised = -1
        self.ledger: set[int] = set()
        # (valid_from, valid_until, workorder or -1 for an intake, item, action, by, due_ts)
        self.auth: list[tuple] = []
        self.cover: list[tuple] = []
        self.by = -1


class Item:
    __slots__ = ("slot", "status", "gen", "overdue_raised", "due", "events")

    def __init__(self) -> None:
        self.slot = -1
        self.status = ITEM_NONE
        self.gen = 0
        self.overdue_raised = -1
        self.due = -1
        self.events: list[tuple] = []


class PropertyLedger:
    def __init__(self, site: SiteModel, push: Push, alert: Alert):
        self.site = site
        self._push = push
        self._alert = alert
        self.items: dict[int, Item] = {}
        self.slots = [Slot() for _ in range(site.slot_count)]
        nd = len(site.door_ids)
        self.door_open = [False] * nd
        self.door_open_ts = [0] * nd
        self.door_gen = [0] * nd
        self.door_held_raised = [-1] * nd
        self.bank_badge = [(-1, -1)] * len(site.bank_ids)  # (person, ts)
        zone_index = site.zone_index
        self.door_zone = [-1 if d.zone is None else zone_index[d.zone] for d in site.config.doors]
        bank_zone = [-1 if b.zone is None else zone_index[b.zone] for b in site.config.lockers]
        self.slot_zone = [bank_zone[b] for b in site.slot_bank]

    _TRANSIENT = ("site", "_push", "_alert")

    def export_state(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def import_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def _item(self, iid: int) -> Item:
        item = self.items.get(iid)
        if item is None:
            item = self.items[iid] = Item()
        return item

    def _zone_of_slot(self, slot: int) -> int:
        return -1 if slot < 0 else self.slot_zone[slot]

    # ------------------------------------------------------------------ events

    def badge(self, ts: int, person: int, bank: int) -> None:
        if bank >= 0:
            self.bank_badge[bank] = (person, ts)

    def door(self, ts: int, door: int, state: int) -> None:
        if state == DOOR_FORCED:
            self._alert(ts, R_DOOR_FORCED, RAISED, door, self.door_zone[door])
        if state == DOOR_CLOSED:
            if self.door_open[door]:
                self.door_open[door] = False
                self.door_gen[door] += 1
                if self.door_held_raised[door] >= 0:
                    self._alert(ts, R_DOOR_HELD, CLEARED, door, self.door_zone[door], self.door_held_raised[door])
                    self.door_held_raised[door] = -1
        elif not self.door_open[door]:  # open, or forced (a forced door stands open)
            self.door_open[door] = True
            self.door_open_ts[door] = ts
            self._push(ts + self.site.door_open_max_ms, T_DOOR, door, self.door_gen[door])

    def intake(self, ts: int, iid: int, case: int, slot: int, by: int) -> None:
        item = self._item(iid)
        if item.slot >= 0 and item.slot != slot:
            self.slots[item.slot].ledger.discard(iid)
        item.slot = slot
        item.status = ITEM_IN
        s = self.slots[slot]
        s.ledger.add(iid)
        s.auth.append((ts, ts + self.site.intake_window_ms, -1, iid, -1, by, -1))
        item.events.append((ts, IT_INTAKE, slot, case, by))

    def workorder(self, ts: int, wo: int, iid: int, slot: int, action: int, by: int,
                  valid_from: int, valid_until: int, due: int) -> None:
        item = self._item(iid)
        self.slots[slot].auth.append((valid_from, valid_until, wo, iid, action, by, due))
        item.events.append((ts, IT_WORKORDER, wo, action, slot, valid_from, valid_until, due, by))

    def locker(self, ts: int, slot: int, state: int, items: tuple | None) -> None:
        s = self.slots[slot]
        if state == LOCKER_OPEN:
            if not s.open:
                self._open(ts, slot, s)
        elif s.open:
            self._close(ts, slot, s, items)

    def _open(self, ts: int, slot: int, s: Slot) -> None:
        s.open = True
        s.open_ts = ts
        s.cover = [a for a in s.auth if a[0] <= ts <= a[1]]
        badge_person, badge_ts = self.bank_badge[self.site.slot_bank[slot]]
        if badge_person >= 0 and ts - badge_ts <= self.site.intake_window_ms:
            s.by = badge_person
        else:
            s.by = s.cover[0][5] if s.cover else -1
        if not s.cover:
            self._alert(ts, R_UNAUTH, RAISED, slot, self.slot_zone[slot])
        for iid in sorted(s.ledger | {a[3] for a in s.cover}):
            item = self.items[iid]
            if item.status == ITEM_DISPOSED:
                continue
            wo = next((a[2] for a in s.cover if a[3] == iid), -1)
            item.events.append((ts, IT_OPEN, slot, wo, s.by))
        self._push(ts + self.site.slot_open_max_ms, T_SLOT, slot, s.gen)

    def _close(self, ts: int, slot: int, s: Slot, items: tuple | None) -> None:
        s.open = False
        s.gen += 1
        if s.left_raised >= 0:
            self._alert(ts, R_SLOT_OPEN, CLEARED, slot, self.slot_zone[slot], s.left_raised)
            s.left_raised = -1
        if items is None:  # this board cannot sense items: nothing to compare
            return
        sensed = set(items)
        ledger = s.ledger
        for a in s.cover:
            if a[2] >= 0:
                self._settle_workorder(ts, slot, ledger, sensed, a)
        missing = tuple(sorted(ledger - sensed))
        unexpected = tuple(sorted(sensed - ledger))
        if missing or unexpected:
            self._alert(ts, R_MISMATCH, RAISED, slot, self.slot_zone[slot], -1, -1, missing, unexpected)
            for iid in missing:
                self._item(iid).events.append((ts, IT_MISSING, slot))
            for iid in unexpected:
                self._item(iid).events.append((ts, IT_UNEXPECTED, slot))

    def _settle_workorder(self, ts: int, slot: int, ledger: set[int], sensed: set[int], a: tuple) -> None:
        wo, iid, action, due = a[2], a[3], a[4], a[6]
        item = self.items[iid]
        if action == W_WITHDRAW and iid in ledger and iid not in sensed:
            ledger.discard(iid)
            item.status = ITEM_OUT
            item.due = due
            item.events.append((ts, IT_WITHDRAWN, slot, wo))
            if due >= 0:
                self._push(due, T_OVERDUE, iid, item.gen)
        elif action == W_RETURN and iid in sensed and iid not in ledger:
            ledger.add(iid)
            if item.slot >= 0 and item.slot != slot:
                self.slots[item.slot].ledger.discard(iid)
            item.slot = slot
            item.status = ITEM_IN
            item.gen += 1
            item.events.append((ts, IT_RETURNED, slot, wo))
            if item.overdue_raised >= 0:
                item.events.append((ts, IT_OVERDUE_CLEARED, item.due))
                self._alert(ts, R_OVERDUE, CLEARED, iid, self.slot_zone[slot], item.overdue_raised)
                item.overdue_raised = -1
        elif action == W_DISPOSE and iid in ledger and iid not in sensed:
            ledger.discard(iid)
            item.status = ITEM_DISPOSED
            item.slot = -1
            item.gen += 1
            item.events.append((ts, IT_DISPOSED, slot, wo))

    # ------------------------------------------------------------------ timers

    def fire(self, ts: int, kind: int, ident: int, gen: int) -> None:
        if kind == T_SLOT:
            s = self.slots[ident]
            if gen == s.gen and s.open:
                s.left_raised = ts
                self._alert(ts, R_SLOT_OPEN, RAISED, ident, self.slot_zone[ident], s.open_ts)
        elif kind == T_DOOR:
            if gen == self.door_gen[ident] and self.door_open[ident]:
                self.door_held_raised[ident] = ts
                self._alert(ts, R_DOOR_HELD, RAISED, ident, self.door_zone[ident], self.door_open_ts[ident])
        elif kind == T_OVERDUE:
            item = self.items[ident]
            if gen == item.gen and item.status == ITEM_OUT:
                item.overdue_raised = ts
                item.events.append((ts, IT_OVERDUE, item.due))
                self._alert(ts, R_OVERDUE, RAISED, ident, self._zone_of_slot(item.slot), item.due, item.slot)

    # ------------------------------------------------------------------ trails

    def item_trails(self, now: int) -> list[tuple]:
        """Every item's trail, in order of first appearance of its id."""
        return [(OUT_ITEM_TRAIL, now, iid, list(self.items[iid].events), self.items[iid].status == ITEM_DISPOSED)
                for iid in sorted(self.items)]
