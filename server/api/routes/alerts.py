from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from server.api.deps import CurrentUser, SessionDep
from server.schemas.alerts import (
    AlertActionPublic,
    AlertDetail,
    AlertHandle,
    AlertList,
    AlertPublic,
    AlertResolve,
    AlertStatus,
)
from server.schemas.uplink_bodies import MAX_TS_MS
from server.security import now_ms
from server.services import alerts
from server.services.access import require_site

router = APIRouter(prefix="/alerts", tags=["alerts"])

MAX_INT32 = 2**31 - 1  # alert ids are INTEGER columns: larger ones exist nowhere (and overflow the driver)
AlertId = Annotated[int, Path(ge=1, le=MAX_INT32)]


@router.get("", response_model=AlertList)
def list_alerts(
    session: SessionDep,
    user: CurrentUser,
    site_id: str | None = None,
    status: AlertStatus | None = None,
    rule: str | None = None,
    subject: str | None = None,
    active: Annotated[bool | None, Query(description="true: still raised; false: cleared")] = None,
    since_ts: Annotated[int | None, Query(ge=0, le=MAX_TS_MS, description="epoch ms")] = None,
    until_ts: Annotated[int | None, Query(ge=0, le=MAX_TS_MS, description="epoch ms")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT32)] = 0,
) -> AlertList:
    if site_id is not None:
        require_site(user, site_id)
    flt = alerts.AlertFilter(site_id, status, rule, subject, active, since_ts, until_ts, limit, offset)
    total, rows = alerts.list_alerts(session, user, flt)
    return AlertList(total=total, alerts=[AlertPublic.model_validate(a) for a in rows])


@router.get("/{alert_id}", response_model=AlertDetail)
def read_alert(session: SessionDep, user: CurrentUser, alert_id: AlertId) -> AlertDetail:
    alert, actions = alerts.get_alert(session, user, alert_id)
    return _detail(alert, actions)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail)
def acknowledge(session: SessionDep, user: CurrentUser, alert_id: AlertId, body: AlertHandle) -> AlertDetail:
    alerts.acknowledge(session, user, alert_id, body.comment, now_ms())
    return _detail(*alerts.get_alert(session, user, alert_id))


@router.post("/{alert_id}/resolve", response_model=AlertDetail)
def resolve(session: SessionDep, user: CurrentUser, alert_id: AlertId, body: AlertResolve) -> AlertDetail:
    alerts.resolve(session, user, alert_id, body.comment, now_ms())
    return _detail(*alerts.get_alert(session, user, alert_id))


def _detail(alert, actions) -> AlertDetail:  # noqa: ANN001 - ORM rows
    return AlertDetail.model_validate(
        {**AlertPublic.model_validate(alert).model_dump(), "actions": [AlertActionPublic.model_validate(a) for a in actions]}
    )
