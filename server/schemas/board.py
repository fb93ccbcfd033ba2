"""The live board: one site's zones with who is in them, and the center's overview."""
from __future__ import annotations

from pydantic import BaseModel

from server.schemas.alerts import AlertPublic


class SubjectOnBoard(BaseModel):
    person: str
    state: str
    role: str | None
    sex: str | None
    case: str | None
    basis: str | None
    arrived_ts: int | None
    limit_ms: int | None
    deadline_ts: int | None
    checkin_ts: int | None
    zone: str | None
    zone_since_ts: int | None


class StaffOnBoard(BaseModel):
    person: str
    role: str | None
    sex: str | None
    zone: str
    zone_since_ts: int | None


class ZoneOnBoard(BaseModel):
    id: str
    type: str
    name: str | None
    cameras: list[str]
    subjects: list[SubjectOnBoard]
    staff: list[StaffOnBoard]


class ItemCounts(BaseModel):
    """The property ledger at a glance (zero everywhere for a handling area)."""

    in_store: int
    out: int
    overdue: int  # out past their due time
    disposed: int


class GatewayConflict(BaseModel):
    """A gateway whose batch contradicted its hash chain or a signature (docs/uplink.md)."""

    gateway_id: str
    seq: int
    ts: int
    detail: str


class SiteBoard(BaseModel):
    site_id: str
    name: str
    kind: str
    timezone: str
    version: int
    generated_ts: int
    zones: list[ZoneOnBoard]
    unlocated: list[SubjectOnBoard]  # in custody, location unknown (not yet read, or tag lost)
    alerts: list[AlertPublic]       # not yet resolved, newest first
    items: ItemCounts
    chain_conflicts: list[GatewayConflict] = []  # until an admin clears them


class SiteSummary(BaseModel):
    site_id: str
    name: str
    kind: str
    timezone: str
    version: int
    subjects_in_custody: int
    staff_present: int
    open_alerts: int
    unacknowledged_alerts: int
    next_deadline_ts: int | None
    last_report_ts: int | None  # latest batch from any of the site's gateways: a silent site shows
    chain_conflicts: int = 0    # the site's gateways marked with a chain conflict


class Overview(BaseModel):
    generated_ts: int
    sites: list[SiteSummary]
