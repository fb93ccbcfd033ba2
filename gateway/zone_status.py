"""Live status per zone (who is where, which alerts are up), derived from events and outputs.

Fed with exactly what the engine task journals, in the same order, both live and during the
replay on restart, so the retained MQTT status after a restart is what it was before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.desk.view import DeskView

import msgspec

from core_ext.snapshot import SnapshotError, from_plain, to_plain


class ZoneStatus:
    def __init__(self, site_id: str, zone_ids: Iterable[str], view: DeskView | None = None) -> None:
        self.site_id = site_id
        self.view = view  # what the desk consoles show (gateway/desk/view.py), fed the same records
        self.zone_ids = list(zone_ids)
        self.role: dict[str, str] = {}  # person -> role from enroll / checkin
        self.where: dict[str, str] = {}  # person -> zone, while located
        self.members: dict[str, set[str]] = {z: set() for z in self.zone_ids}
        self.alerts: dict[str, dict[tuple[str, str], int]] = {z: {} for z in self.zone_ids}
        self.alert_zone: dict[tuple[str, str], str] = {}  # (rule, subject) -> zone while raised
        self.updated_ts: dict[str, int] = {z: 0 for z in self.zone_ids}

    def to_json(self) -> bytes:
        """The status as plain JSON (saved beside an engine snapshot; core_ext/snapshot.py's
        encoding). The desk view is saved without its site facts, which come from the config."""
        state = dict(self.__dict__)
        view = state.pop("view")
        state["view"] = None if view is None else {k: v for k, v in view.__dict__.items() if k != "facts"}
        return msgspec.json.encode(to_plain(state))

    @classmethod
    def from_json(cls, data: bytes, like: ZoneStatus) -> ZoneStatus:
        """The status saved by `to_json`, for a runner whose fresh status is `like` (its desk view
        gives the site facts); SnapshotError when the bytes are not one (an older pickled status,
        garbage, another layout, or no desk view where this gateway keeps one)."""
        try:
            state = from_plain(msgspec.json.decode(data))
        except msgspec.DecodeError as exc:
            raise SnapshotError(f"zone status is not readable: {exc}") from None
        view = None if like.view is None else type(like.view)(like.view.facts)
        status = cls(like.site_id, like.zone_ids, view)
        if not isinstance(state, dict) or set(state) != set(status.__dict__):
            raise SnapshotError("zone status of another layout")
        saved_view = state.pop("view")
        if view is not None:
            if saved_view is None:
                raise SnapshotError("engine snapshot has no desk view (the view needs the whole journal)")
            if not isinstance(saved_view, dict) or set(saved_view) != set(view.__dict__) - {"facts"}:
                raise SnapshotError("desk view of another layout")
            view.__dict__.update(saved_view)
        status.__dict__.update(state)
        return status

    def apply(self, records: Iterable[dict[str, Any]]) -> set[str]:
        """Events (with `type`) and outputs (with `kind`); returns the zones whose status changed."""
        changed: set[str] = set()
        view = self.view
        view_events = view.EVENTS if view is not None else ()
        for rec in records:
            etype = rec.get("type")
            if etype is not None:  # an event (welfare and decision events have a `kind` field of their own)
                if etype in view_events:  # tag reads, the bulk, pass by the view
                    view.apply(rec)  # type: ignore[union-attr]  # view_events is empty when there is no view, so view is set here
                if etype == "enroll" or etype == "checkin":
                    self.role[rec["person"]] = rec["role"]
                continue
            if view is not None:
                view.apply(rec)
            kind = rec.get("kind")
            if kind == "location":
                self._move(rec["person"], rec["zone"], rec["ts"], changed)
            elif kind == "custody" and rec["state"] == "out":
                self._move(rec["person"], None, rec["ts"], changed)
            elif kind == "alert":
                self._alert(rec, changed)
        return changed

    def _move(self, person: str, zone: str | None, ts: int, changed: set[str]) -> None:
        old = self.where.pop(person, None)
        if old is not None:
            self.members[old].discard(person)
            self.updated_ts[old] = ts
            changed.add(old)
        if zone is not None and zone in self.members:
            self.where[person] = zone
            self.members[zone].add(person)
            self.updated_ts[zone] = ts
            changed.add(zone)

    def _alert(self, rec: dict[str, Any], changed: set[str]) -> None:
        key = (rec["rule"], rec["subject"])
        if rec["state"] == "raised":
            zone = rec.get("zone")
            if zone in self.alerts:
                self.alerts[zone][key] = rec["ts"]
                self.alert_zone[key] = zone
                self.updated_ts[zone] = rec["ts"]
                changed.add(zone)
        else:
            zone = self.alert_zone.pop(key, None)
            if zone is not None:
                self.alerts[zone].pop(key, None)
                self.updated_ts[zone] = rec["ts"]
                changed.add(zone)

    def snapshot(self, zone: str) -> dict[str, Any]:
        members = sorted(self.members[zone])
        staff_roles = ("officer", "custodian", "doctor")
        return {
            "site": self.site_id,
            "zone": zone,
            "ts": self.updated_ts[zone],
            "subjects": [p for p in members if self.role.get(p) not in staff_roles],
            "staff": [p for p in members if self.role.get(p) in staff_roles],
            "alerts": [{"rule": r, "subject": s, "since": t} for (r, s), t in sorted(self.alerts[zone].items())],
        }

    def all(self) -> dict[str, dict[str, Any]]:
        return {z: self.snapshot(z) for z in self.zone_ids}
