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

Second layer (DESIGN §6.2): an intake may name the `owner` (a subject's belongings) and the
`seized_ts`; a `release` work order gives an item back to its owner (sensed absent at the close:
it leaves the ledger and its trail closes); a `seizure` arms `intake_overdue`, which the item's
intake clears or prevents; on a site requiring approval an unapproved work order authorises
nothing and raises `workorder_unapproved`; an `unlock` is recorded on the slot's item trails.
A re-intake of an item settles it: a raised `item_overdue` is cleared and its due timer is void.
"""
from __future__ import annotations

from collections.abc import Callable

from core_ext.codes import (
    CLEARED,
    DOOR_CLOSED,
    DOOR_FORCED,
    IT_DISPOSED,
    IT_INTAKE,
    IT_INTAKE_OVERDUE,
    IT_INTAKE_OVERDUE_CLEARED,
    IT_MISSING,
    IT_OPEN,
    IT_OVERDUE,
    IT_OVERDUE_CLEARED,
    IT_RELEASED,
    IT_RETURNED,
    IT_SEIZURE,
    IT_UNEXPECTED,
    IT_UNLOCK,
    IT_WITHDRAWN,
    IT_WORKORDER,
    ITEM_DISPOSED,
    ITEM_IN,
    ITEM_NONE,
    ITEM_OUT,
    ITEM_RELEASED,
    LOCKER_OPEN,
    OUT_ITEM_TRAIL,
    R_DOOR_FORCED,
    R_DOOR_HELD,
    R_INTAKE_OVERDUE,
    R_MISMATCH,
    R_OVERDUE,
    R_SLOT_OPEN,
    R_UNAPPROVED,
    R_UNAUTH,
    RAISED,
    T_DOOR,
    T_INTAKE,
    T_OVERDUE,
    T_SLOT,
    W_DISPOSE,
    W_RELEASE,
    W_RETURN,
    W_WITHDRAW,
)
from core_ext.site import SiteModel

Push = Callable[[int, int, int, int], None]          # (deadline, timer kind, ident, generation)
Alert = Callable[..., None]                           # (ts, rule, state, subject, zone, n1, n2, l1, l2)


class Slot:
    # plain __slots__ classes: engine snapshots list their fields by name (core_ext/snapshot.py)
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


GONE = (ITEM_DISPOSED, ITEM_RELEASED)  # left the ledger for good: the item trail is closed


class Item:
    __slots__ = ("slot", "status", "gen", "overdue_raised", "overdue_zone", "due", "events", "owner",
                 "taken_in", "seized", "intake_gen", "intake_due", "intake_raised")

    def __init__(self) -> None:
        self.slot = -1
        self.status = ITEM_NONE
        self.gen = 0
        self.overdue_raised = -1
        self.overdue_zone = -1
        self.due = -1
        self.events: list[tuple] = []
        self.owner = -1          # the subject whose belongings this is, -1 for case property
        self.taken_in = False    # an intake has been recorded
        self.seized = -1         # seized_ts of the first seizure, -1 none
        self.intake_gen = 0
        self.intake_due = -1
        self.intake_raised = -1


class PropertyLedger:
    def __init__(self, site: SiteModel, push: Push, alert: Alert):
        self.site = site
        self._push = push
        self._alert = alert
        self.items: dict[int, Item] = {}
        self.owned: dict[int, list[int]] = {}  # owner person → their belongings' item ids
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
        if set(state) != set(self.export_state()):
            raise ValueError(f"property ledger state of another layout: {sorted(state)}")
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

    def intake(self, ts: int, iid: int, case: int, slot: int, by: int, owner: int = -1, seized: int = -1) -> None:
        item = self._item(iid)
        if item.slot >= 0 and item.slot != slot:
            self.slots[item.slot].ledger.discard(iid)
        item.slot = slot
        item.status = ITEM_IN
        item.gen += 1  # a re-intake settles a withdrawal: its due timer is void
        item.taken_in = True
        if owner >= 0 and owner != item.owner:
            self.owned.setdefault(owner, []).append(iid)
            item.owner = owner
        s = self.slots[slot]
        s.ledger.add(iid)
        s.auth.append((ts, ts + self.site.intake_window_ms, -1, iid, -1, by, -1))
        item.events.append((ts, IT_INTAKE, slot, case, by, owner, seized))
        if item.overdue_raised >= 0:
            self._clear_overdue(ts, iid, item)
        item.intake_gen += 1  # a pending intake_overdue is prevented
        if item.intake_raised >= 0:
            item.events.append((ts, IT_INTAKE_OVERDUE_CLEARED, item.intake_due))
            self._alert(ts, R_INTAKE_OVERDUE, CLEARED, iid, -1, item.intake_raised)
            item.intake_raised = -1

    def _clear_overdue(self, ts: int, iid: int, item: Item) -> None:
        item.events.append((ts, IT_OVERDUE_CLEARED, item.due))
        self._alert(ts, R_OVERDUE, CLEARED, iid, item.overdue_zone, item.overdue_raised)
        item.overdue_raised = -1

    def seizure(self, ts: int, iid: int, case: int, by: int, seized: int) -> None:
        item = self._item(iid)
        if item.taken_in:  # a seizure of an item already taken in changes nothing
            return
        item.events.append((ts, IT_SEIZURE, case, by, seized))
        if item.seized < 0:  # the first seizure starts the clock; a repeat is only recorded
            item.seized = seized
            item.intake_due = seized + self.site.intake_within_ms
            self._push(item.intake_due, T_INTAKE, iid, item.intake_gen)

    def unlock(self, ts: int, slot: int, by: int) -> None:
        s = self.slots[slot]
        for iid in sorted(s.ledger | {a[3] for a in s.auth if a[0] <= ts <= a[1]}):
            item = self.items[iid]
            if item.status not in GONE:
                item.events.append((ts, IT_UNLOCK, slot, by))

    def belongings_held(self, owner: int) -> tuple:
        """The owner's belongings not yet released or disposed (in a slot or withdrawn)."""
        return tuple(sorted(iid for iid in self.owned.get(owner, ())
                            if self.items[iid].owner == owner and self.items[iid].status in (ITEM_IN, ITEM_OUT)))

    def workorder(self, ts: int, wo: int, iid: int, slot: int, action: int, by: int,
                  valid_from: int, valid_until: int, due: int, approval: tuple | None = None) -> None:
        item = self._item(iid)
        requested, approved_by, approved = approval if approval is not None else (-1, -1, 1)
        item.events.append((ts, IT_WORKORDER, wo, action, slot, valid_from, valid_until, due, by,
                            requested, approved_by, approved))
        if approved:
            self.slots[slot].auth.append((valid_from, valid_until, wo, iid, action, by, due))
        else:
            self._alert(ts, R_UNAPPROVED, RAISED, slot, self.slot_zone[slot], wo, -1, (requested, approved_by))

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
            if item.status in GONE:
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
        if action == W_RELEASE and iid in ledger and iid not in sensed:
            ledger.discard(iid)
            item.status = ITEM_RELEASED
            item.slot = -1
            item.gen += 1
            item.events.append((ts, IT_RELEASED, slot, wo))
        elif action == W_WITHDRAW and iid in ledger and iid not in sensed:
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
                self._clear_overdue(ts, iid, item)
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
            if gen == item.gen and item.status == ITEM_OUT and item.overdue_raised < 0:
                item.overdue_raised = ts
                item.overdue_zone = self._zone_of_slot(item.slot)
                item.events.append((ts, IT_OVERDUE, item.due))
                self._alert(ts, R_OVERDUE, RAISED, ident, item.overdue_zone, item.due, item.slot)
        elif kind == T_INTAKE:
            item = self.items[ident]
            if gen == item.intake_gen and not item.taken_in and item.intake_raised < 0:
                item.intake_raised = ts
                item.events.append((ts, IT_INTAKE_OVERDUE, item.intake_due))
                self._alert(ts, R_INTAKE_OVERDUE, RAISED, ident, -1, item.seized, item.intake_due)

    # ------------------------------------------------------------------ trails

    def item_trails(self, now: int) -> list[tuple]:
        """Every item's trail, in order of first appearance of its id."""
        return [(OUT_ITEM_TRAIL, now, iid, list(self.items[iid].events), self.items[iid].status in GONE)
                for iid in sorted(self.items)]
