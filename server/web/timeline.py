"""Geometry of the custody timeline chart (an SVG drawn by the trail and report templates)."""

from __future__ import annotations

from dataclasses import dataclass

from server.schemas.trails import SubjectTrail

CHART_WIDTH = 1000
LANE_HEIGHT = 28
AXIS_HEIGHT = 24
LABEL_WIDTH = 130
RIGHT_PAD = 30  # room for the last tick label


@dataclass
class Bar:
    lane: int
    x: float
    width: float
    zone: str
    enter_ts: int
    leave_ts: int | None
    unrecorded: bool


@dataclass
class Marker:
    x: float
    rule: str
    ts: int


@dataclass
class Tick:
    x: float
    ts: int


@dataclass
class Timeline:
    start_ts: int
    end_ts: int
    lanes: list[str]
    bars: list[Bar]
    markers: list[Marker]
    ticks: list[Tick]
    width: int
    height: int
    label_width: int
    lane_height: int


def build_timeline(trail: SubjectTrail, now: int, ticks: int = 6) -> Timeline | None:
    start = trail.checkin_ts or (trail.stays[0].enter_ts if trail.stays else None)
    if start is None:
        return None
    end = trail.checkout_ts or now
    if trail.stays:
        end = max(end, max(s.leave_ts or now for s in trail.stays))
    span = max(end - start, 1)
    plot = CHART_WIDTH - LABEL_WIDTH - RIGHT_PAD

    def x_of(ts: int) -> float:
        return round(LABEL_WIDTH + (min(max(ts, start), end) - start) * plot / span, 1)

    lanes: list[str] = []
    bars: list[Bar] = []
    for stay in trail.stays:
        zone = stay.zone or "?"
        if zone not in lanes:
            lanes.append(zone)
        x0, x1 = x_of(stay.enter_ts), x_of(stay.leave_ts or end)
        bars.append(
            Bar(lanes.index(zone), x0, max(x1 - x0, 1.0), zone, stay.enter_ts, stay.leave_ts, bool(stay.unrecorded_ms))
        )
    markers = [Marker(x_of(a.raised_ts), a.rule, a.raised_ts) for a in trail.alerts]
    tick_marks = [Tick(x_of(start + span * i // ticks), start + span * i // ticks) for i in range(ticks + 1)]
    height = AXIS_HEIGHT + max(len(lanes), 1) * LANE_HEIGHT + 14
    return Timeline(start, end, lanes, bars, markers, tick_marks, CHART_WIDTH, height, LABEL_WIDTH, LANE_HEIGHT)
