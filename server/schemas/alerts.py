"""Alerts as the center handles them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AlertStatus = Literal["open", "acknowledged", "resolved"]


class AlertActionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action: str
    username: str
    at_ts: int
    comment: str


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: str
    rule: str
    subject: str
    zone: str | None
    severity: str | None
    detail: Any
    raised_ts: int
    cleared_ts: int | None
    status: AlertStatus
    acknowledged_by: str | None
    acknowledged_ts: int | None
    acknowledge_comment: str | None
    resolved_by: str | None
    resolved_ts: int | None
    resolve_comment: str | None


class AlertDetail(AlertPublic):
    actions: list[AlertActionPublic]


class AlertList(BaseModel):
    total: int
    alerts: list[AlertPublic]


class AlertHandle(BaseModel):
    comment: str = Field("", max_length=2000)


class AlertResolve(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="why the alert is resolved")
