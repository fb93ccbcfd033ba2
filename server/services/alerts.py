"""Alert queue: filter, acknowledge and resolve, keeping who did what and when."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import begin_write
from server.models import Alert, AlertAction, User
from server.services.access import require_capability, require_site, visible_site_ids
from server.services.errors import Conflict, NotFound
from server.services.live_signal import bump_site_version


@dataclass
class AlertFilter:
    site_id: str | None = None
    status: str | None = None
    rule: str | None = None
    subject: str | None = None
    active: bool | None = None  # condition still raised (not cleared)
    since_ts: int | None = None
    until_ts: int | None = None
    limit: int = 100
    offset: int = 0


def list_alerts(session: Session, user: User, flt: AlertFilter) -> tuple[int, list[Alert]]:
    query = select(Alert)
    visible = visible_site_ids(user)
    if visible is not None:
        query = query.where(Alert.site_id.in_(visible))
    if flt.site_id is not None:
        query = query.where(Alert.site_id == flt.site_id)
    if flt.status is not None:
        query = query.where(Alert.status == flt.status)
    if flt.rule is not None:
        query = query.where(Alert.rule == flt.rule)
    if flt.subject is not None:
        query = query.where(Alert.subject == flt.subject)
    if flt.active is not None:
        query = query.where(Alert.cleared_ts.is_(None) if flt.active else Alert.cleared_ts.is_not(None))
    if flt.since_ts is not None:
        query = query.where(Alert.raised_ts >= flt.since_ts)
    if flt.until_ts is not None:
        query = query.where(Alert.raised_ts < flt.until_ts)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(Alert.raised_ts.desc(), Alert.id.desc()).limit(flt.limit).offset(flt.offset)
    ).scalars()
    return total, list(rows)


def get_alert(session: Session, user: User, alert_id: int) -> tuple[Alert, list[AlertAction]]:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    require_site(user, alert.site_id)
    actions = session.execute(
        select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.at_ts, AlertAction.id)
    ).scalars()
    return alert, list(actions)


def acknowledge(session: Session, user: User, alert_id: int, comment: str, now: int) -> Alert:
    begin_write(session)
    alert = _lock_for_handling(session, user, alert_id)
    if alert.status != "open":
        session.rollback()
        raise Conflict(f"alert {alert_id} is already {alert.status} (by {alert.acknowledged_by or alert.resolved_by})")
    alert.status = "acknowledged"
    alert.acknowledged_by = user.username
    alert.acknowledged_ts = now
    alert.acknowledge_comment = comment
    return _record(session, user, alert, "acknowledge", comment, now)


def resolve(session: Session, user: User, alert_id: int, comment: str, now: int) -> Alert:
    begin_write(session)
    alert = _lock_for_handling(session, user, alert_id)
    if alert.status == "resolved":
        session.rollback()
        raise Conflict(f"alert {alert_id} is already resolved (by {alert.resolved_by})")
    if alert.status == "open":  # resolving implies having seen it
        alert.acknowledged_by = user.username
        alert.acknowledged_ts = now
    alert.status = "resolved"
    alert.resolved_by = user.username
    alert.resolved_ts = now
    alert.resolve_comment = comment
    return _record(session, user, alert, "resolve", comment, now)


def _lock_for_handling(session: Session, user: User, alert_id: int) -> Alert:
    require_capability(user, "handle_alerts")
    # FOR UPDATE (ignored by SQLite, whose writers are serialised anyway) so two people
    # acknowledging at once get one success and one clear conflict.
    alert = session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()).scalar_one_or_none()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    require_site(user, alert.site_id)
    return alert


def _record(session: Session, user: User, alert: Alert, action: str, comment: str, now: int) -> Alert:
    session.add(
        AlertAction(
            alert_id=alert.id, action=action, user_id=user.id, username=user.username, at_ts=now, comment=comment
        )
    )
    bump_site_version(session, alert.site_id)
    session.commit()
    return alert
