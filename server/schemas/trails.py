"""Subject and item trails, with the footage to pull for each stay."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from server.schemas.alerts import AlertPublic


class FootageRef(BaseModel):
    camera: str
    from_ts: int
    to_ts: int | None = Field(description="null while the stay is still going on")


class StayPublic(BaseModel):
    zone: str | None
    zone_type: str | None
    enter_ts: int
    leave_ts: int | None
    officers: list[str]
    unrecorded_ms: int | None = Field(description="null when derived live, before the gateway's trail")
    footage: list[FootageRef]


class CustodyPublic(BaseModel):
    state: str
    role: str | None
    sex: str | None
    case: str | None
    basis: str | None
    arrived_ts: int | None
    limit_ms: int | None
    deadline_ts: int | None
    checkin_ts: int | None
    checkout_ts: int | None


class ExitPublic(BaseModel):
    """A temporary exit from the area (DESIGN §6.2): out at leave_ts, back at return_ts."""

    leave_ts: int
    return_ts: int | None = Field(description="null while still out")
    reason: str | None
    until_ts: int | None
    approved_by: str | None


class WelfarePublic(BaseModel):
    ts: int
    kind: str


class DecisionPublic(BaseModel):
    ts: int
    kind: str | None


class SubjectTrail(BaseModel):
    site_id: str
    site_name: str
    timezone: str
    person: str
    source: str = Field(description="'gateway' (the gateway's trail record) or 'live' (derived from locations so far)")
    custody: CustodyPublic | None
    checkin_ts: int | None
    checkout_ts: int | None
    stays: list[StayPublic]
    steps_missing: list[str]
    closed: bool | None
    alerts: list[AlertPublic]
    # second layer (DESIGN §6.2): what the gateway's trail carries, or the events so far while in custody
    minor: bool = False
    vulnerable: bool = False
    guardian: str | None = Field(None, description="named by the check-in")
    exits: list[ExitPublic] = []
    welfare: list[WelfarePublic] = []
    decisions: list[DecisionPublic] = []
    outcome: str | None = None
    released_to: str | None = Field(None, description="who collected the person at check-out")
    belongings: str | None = Field(None, description="returned or kept, at check-out")
    belongings_reason: str | None = None


class ItemPublic(BaseModel):
    item: str
    case: str | None
    bank: str | None
    slot: int | None
    state: str
    due_ts: int | None
    intake_ts: int | None
    closed: bool
    last_ts: int


class SlotOpening(BaseModel):
    """One opening of the item's locker slot, with the footage that shows who reached in."""

    slot: str
    open_ts: int
    close_ts: int | None
    items_sensed: list[str] | None = Field(description="what the slot sensed at the close, when it reports it")
    footage: list[FootageRef]


class ItemTrail(BaseModel):
    site_id: str
    item: ItemPublic
    openings: list[SlotOpening] = Field(description="openings of its slot since intake (cameras of the bank's zone)")
    events: list[dict[str, Any]] = Field(description="intake, work orders and the gateway's item trail events")
    gateway_trail: list[Any] | None
    closed: bool
    alerts: list[AlertPublic]
