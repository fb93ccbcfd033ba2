"""Where people are on a floor plan: at a moment of a trail, and as dots inside their zones.

`positions_at` and `dot_points` are mirrored line for line in server/static/floorplan.js
(`FloorPlan.positionsAt`, `FloorPlan.dotPoints`): the playback on the trail page runs the JS,
the printed report's frames run these, and tests/server/test_floorplan.py checks both against
the trail's stays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core_ext.geometry import contains, edge_distance

DOT_SPACING_M = 0.8
LABEL_GAP_M = 1.1  # dots start this far below the zone's label point


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key)


def positions_at(trail: Any, t: int) -> list[dict[str, Any]]:
    """Who is where at time t (epoch ms) by the trail's stays.

    The subject comes first: in the zone of the stay with enter_ts <= t < leave_ts (an open stay,
    leave_ts null, runs on), else with zone None (between stays: location unknown). The officers
    of that stay follow, in the same zone, sorted. Before check-in and from check-out on
    (when known) nobody is shown. `trail` is a dict or an object with person, checkin_ts,
    checkout_ts and stays (zone, enter_ts, leave_ts, officers).
    """
    checkin, checkout = _get(trail, "checkin_ts"), _get(trail, "checkout_ts")
    stays = list(_get(trail, "stays") or [])
    start = checkin if checkin is not None else (min(_get(s, "enter_ts") for s in stays) if stays else None)
    if start is None or t < start or (checkout is not None and t >= checkout):
        return []
    current = None
    for stay in stays:
        leave = _get(stay, "leave_ts")
        if _get(stay, "enter_ts") <= t and (leave is None or t < leave):
            current = stay
    out: list[dict[str, Any]] = [
        {"id": _get(trail, "person"), "kind": "subject", "zone": _get(current, "zone") if current is not None else None}
    ]
    if current is not None and _get(current, "zone") is not None:
        for officer in sorted(_get(current, "officers") or []):
            out.append({"id": officer, "kind": "staff", "zone": _get(current, "zone")})
    return out


def dot_points(zone: Mapping[str, Any], n: int, spacing: float = DOT_SPACING_M) -> list[tuple[float, float]]:
    """n dot centres inside a plan zone: grid points nearest below its label, clear of the walls."""
    if n <= 0:
        return []
    pts: Sequence[tuple[float, float]] = [(p[0], p[1]) for p in zone["points"]]
    lx, ly = zone["label"]
    ax, ay = lx, ly + LABEL_GAP_M
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    size = max(max(xs) - min(xs), max(ys) - min(ys))
    step = spacing
    for _ in range(3):
        reach = min(60, math.ceil(size / step) + 1)
        # rows at and below the anchor first (above it sits the label), then nearest first
        candidates: list[tuple[int, int, int, int, float, float]] = []
        for j in range(-reach, reach + 1):
            for i in range(-reach, reach + 1):
                x, y = ax + i * step, ay + j * step
                if contains(pts, x, y) and edge_distance(pts, x, y) >= step * 0.45:
                    candidates.append((1 if j < 0 else 0, i * i + j * j, j, i, x, y))
        if len(candidates) >= n:
            candidates.sort()
            return [(round(c[4], 3), round(c[5], 3)) for c in candidates[:n]]
        step /= 2
    return [(lx, ly)] * n


def place(
    plan: Mapping[str, Any], people: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dots for people on the plan (subjects before staff, by id, in each zone) and those not placed."""
    zones = {z["id"]: z for z in plan["zones"]}
    by_zone: dict[str, list[Mapping[str, Any]]] = {}
    unplaced: list[dict[str, Any]] = []
    for person in people:
        zone = person.get("zone")
        if isinstance(zone, str) and zone in zones:
            by_zone.setdefault(zone, []).append(person)
        else:
            unplaced.append(dict(person))
    dots: list[dict[str, Any]] = []
    for zid in sorted(by_zone):
        group = sorted(by_zone[zid], key=lambda p: (p["kind"] != "subject", p["id"]))
        for person, (x, y) in zip(group, dot_points(zones[zid], len(group)), strict=True):
            dots.append({**person, "x": x, "y": y})
    return dots, unplaced


@dataclass
class Frame:
    ts: int
    zone: str | None
    zone_type: str | None
    officers: list[str]
    dots: list[dict[str, Any]]


def stay_frames(plan: Mapping[str, Any], trail: Any) -> list[Frame]:
    """One frame at the start of each stay (the printed report's sequence of small plans)."""
    frames = []
    for stay in _get(trail, "stays") or []:
        t = _get(stay, "enter_ts")
        people = positions_at(trail, t)
        dots, _ = place(plan, people)
        frames.append(
            Frame(
                ts=t,
                zone=_get(stay, "zone"),
                zone_type=_get(stay, "zone_type"),
                officers=sorted(_get(stay, "officers") or []),
                dots=dots,
            )
        )
    return frames


def svg_points(points: Sequence[Sequence[float]]) -> str:
    return " ".join(f"{p[0]:g},{p[1]:g}" for p in points)


def view_box(plan: Mapping[str, Any], margin: float = 1.0) -> str:
    x0, y0, x1, y1 = plan["bounds"]
    return f"{x0 - margin:g} {y0 - margin:g} {x1 - x0 + 2 * margin:g} {y1 - y0 + 2 * margin:g}"


def playback_context(plan: Mapping[str, Any], trail: Any, now: int) -> dict[str, Any]:
    """What the trail page's playback (JSON, inert) and the report's frames (server-drawn) need."""
    stays = [
        {
            "zone": s.zone,
            "zone_type": s.zone_type,
            "enter_ts": s.enter_ts,
            "leave_ts": s.leave_ts,
            "officers": list(s.officers),
            "unrecorded_ms": s.unrecorded_ms,
        }
        for s in trail.stays
    ]
    start = trail.checkin_ts if trail.checkin_ts is not None else (stays[0]["enter_ts"] if stays else now)
    end = (
        trail.checkout_ts
        if trail.checkout_ts is not None
        else max([now, start] + [s["leave_ts"] for s in stays if s["leave_ts"] is not None])
    )
    data = {
        "person": trail.person,
        "checkin_ts": trail.checkin_ts,
        "checkout_ts": trail.checkout_ts,
        "stays": stays,
        "alerts": [
            {"rule": a.rule, "zone": a.zone, "raised_ts": a.raised_ts, "cleared_ts": a.cleared_ts} for a in trail.alerts
        ],
    }
    return {
        "playback": {"plan": plan, "trail": data, "start_ts": start, "end_ts": end, "timezone": trail.timezone},
        "plan": plan,
        "plan_frames": stay_frames(plan, data),
        "plan_view_box": view_box(plan),
    }
