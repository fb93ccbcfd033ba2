"""The live board: one site's zones with who is in them, and the center's overview."""
from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas.alerts import AlertPublic


class GuardianOnBoard(BaseModel):
    """A guardian of the subject (enrolled `for` them, or named by their check-in) and where they are."""

    person: str
    zone: str | None
    with_subject: bool = Field(description="located in the subject's zone now")


class TempExitOnBoard(BaseModel):
    """The subject is out of the area on an approved temporary exit (DESIGN §6.2)."""

    since_ts: int
    reason: str | None
    until_ts: int | None = Field(description="back by then, or temp_exit_overdue")
    approved_by: str | None


class DecisionOnBoard(BaseModel):
    kind: str | None
    ts: int
    transfer_deadline_ts: int = Field(description="decision + rules.transfer_limit_h (default 24 h), CPL art. 85")


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
    # second layer (DESIGN §3, §6.2)
    minor: bool = False
    vulnerable: bool = Field(False, description="continued questioning: under 16, 70 or older, pregnant or nursing")
    guardians: list[GuardianOnBoard] = []
    guardian_present: bool = Field(False, description="a guardian of theirs is located in their zone")
    out: TempExitOnBoard | None = None
    decision: DecisionOnBoard | None = None
    last_meal_ts: int | None = None
    meal_due_ts: int | None = Field(None, description="last meal (or check-in) + rules.meal_interval_h; null: meals not timed")


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
    guardians: list[StaffOnBoard] = []  # guardians located here (neither staff nor subjects)


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
    out_of_area: list[SubjectOnBoard] = []  # in custody, out on an approved temporary exit
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
