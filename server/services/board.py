"""The live board, read from the projections the ingest keeps current (a handful of indexed queries)."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from server.models import Alert, CustodySubject, Gateway, Item, Site, SitePerson, SiteZone
from server.schemas.alerts import AlertPublic
from server.schemas.board import (
    GatewayConflict, ItemCounts, Overview, SiteBoard, SiteSummary, StaffOnBoard, SubjectOnBoard, ZoneOnBoard,
)
from server.services.sites import get_site

BOARD_ALERT_LIMIT = 200
_IN_CUSTODY = ("in", "extended")


# Anyone located who is not a subject counts as staff: the engine tracks only tags it knows,
# and staff enrolled before the server's time may never have reached it as an enroll event.


def site_board(session: Session, site_id: str, now: int) -> SiteBoard:
    site = get_site(session, site_id)
    zones = session.execute(
        select(SiteZone.zone_id, SiteZone.type, SiteZone.name, SiteZone.cameras)
        .where(SiteZone.site_id == site_id)
        .order_by(SiteZone.position)
    ).all()
    subjects = session.execute(
        select(
            CustodySubject.person, CustodySubject.state, CustodySubject.role, CustodySubject.sex,
            CustodySubject.case, CustodySubject.basis, CustodySubject.arrived_ts, CustodySubject.limit_ms,
            CustodySubject.deadline_ts, CustodySubject.checkin_ts, SitePerson.zone, SitePerson.zone_since_ts,
        )
        .outerjoin(
            SitePerson, (SitePerson.site_id == CustodySubject.site_id) & (SitePerson.person == CustodySubject.person)
        )
        .where(CustodySubject.site_id == site_id, CustodySubject.state.in_(_IN_CUSTODY))
        .order_by(CustodySubject.arrived_ts, CustodySubject.person)
    ).all()
    staff = session.execute(
        select(SitePerson.person, SitePerson.role, SitePerson.sex, SitePerson.zone, SitePerson.zone_since_ts)
        .where(SitePerson.site_id == site_id, SitePerson.zone.is_not(None), SitePerson.category != "subject")
        .order_by(SitePerson.person)
    ).all()
    alerts = session.execute(
        select(Alert)
        .where(Alert.site_id == site_id, Alert.status != "resolved")
        .order_by(Alert.raised_ts.desc(), Alert.id.desc())
        .limit(BOARD_ALERT_LIMIT)
    ).scalars()

    conflicts = [
        GatewayConflict(gateway_id=g.id, seq=g.chain_conflict_seq, ts=g.chain_conflict_ts or 0, detail=g.chain_conflict_detail or "")
        for g in session.execute(
            select(Gateway.id, Gateway.chain_conflict_seq, Gateway.chain_conflict_ts, Gateway.chain_conflict_detail)
            .where(Gateway.site_id == site_id, Gateway.chain_conflict_seq.is_not(None)).order_by(Gateway.id)
        )
    ]
    items = _item_counts(session, site_id, now) if site.kind == "property_room" else ItemCounts(in_store=0, out=0, overdue=0, disposed=0)

    by_zone: dict[str, ZoneOnBoard] = {
        z.zone_id: ZoneOnBoard(id=z.zone_id, type=z.type, name=z.name, cameras=z.cameras or [], subjects=[], staff=[])
        for z in zones
    }
    unlocated: list[SubjectOnBoard] = []
    for row in subjects:
        subject = SubjectOnBoard(**row._asdict())
        zone = by_zone.get(subject.zone) if subject.zone else None
        if zone is None and subject.zone:
            zone = by_zone[subject.zone] = _unknown_zone(subject.zone)
        (zone.subjects if zone else unlocated).append(subject)
    for row in staff:
        zone = by_zone.get(row.zone)
        if zone is None:
            zone = by_zone[row.zone] = _unknown_zone(row.zone)
        zone.staff.append(StaffOnBoard(**row._asdict()))
    return SiteBoard(
        site_id=site.id, name=site.name, kind=site.kind, timezone=site.timezone, version=site.live_version,
        generated_ts=now, zones=list(by_zone.values()), unlocated=unlocated,
        alerts=[AlertPublic.model_validate(a) for a in alerts], items=items, chain_conflicts=conflicts,
    )


def _item_counts(session: Session, site_id: str, now: int) -> ItemCounts:
    row = session.execute(
        select(
            func.sum(case((Item.state == "in", 1), else_=0)),
            func.sum(case((Item.state == "out", 1), else_=0)),
            func.sum(case(((Item.state == "out") & (Item.due_ts < now), 1), else_=0)),
            func.sum(case((Item.state == "disposed", 1), else_=0)),
        ).where(Item.site_id == site_id)
    ).one()
    return ItemCounts(**dict(zip(("in_store", "out", "overdue", "disposed"), (int(v or 0) for v in row))))


def _unknown_zone(zone_id: str) -> ZoneOnBoard:
    # A zone the gateway has not described yet still shows, so nobody disappears from the board.
    return ZoneOnBoard(id=zone_id, type="unknown", name=None, cameras=[], subjects=[], staff=[])


def overview(session: Session, site_ids: set[str] | None, now: int) -> Overview:
    sites_q = select(Site.id, Site.name, Site.kind, Site.timezone, Site.live_version).order_by(Site.id)
    custody_q = (
        select(CustodySubject.site_id, func.count(), func.min(CustodySubject.deadline_ts))
        .where(CustodySubject.state.in_(_IN_CUSTODY))
        .group_by(CustodySubject.site_id)
    )
    staff_q = (
        select(SitePerson.site_id, func.count())
        .where(SitePerson.zone.is_not(None), SitePerson.category != "subject")
        .group_by(SitePerson.site_id)
    )
    alerts_q = (
        select(Alert.site_id, func.count(), func.sum(case((Alert.status == "open", 1), else_=0)))
        .where(Alert.status != "resolved")
        .group_by(Alert.site_id)
    )
    gateways_q = select(
        Gateway.site_id, func.max(Gateway.last_seen_ts),
        func.sum(case((Gateway.chain_conflict_seq.is_not(None), 1), else_=0)),
    ).group_by(Gateway.site_id)
    if site_ids is not None:
        gateways_q = gateways_q.where(Gateway.site_id.in_(site_ids))
        sites_q = sites_q.where(Site.id.in_(site_ids))
        custody_q = custody_q.where(CustodySubject.site_id.in_(site_ids))
        staff_q = staff_q.where(SitePerson.site_id.in_(site_ids))
        alerts_q = alerts_q.where(Alert.site_id.in_(site_ids))
    custody = {r[0]: (r[1], r[2]) for r in session.execute(custody_q)}
    staff = {r[0]: r[1] for r in session.execute(staff_q)}
    alerts = {r[0]: (r[1], r[2] or 0) for r in session.execute(alerts_q)}
    gateway_rows = {r[0]: (r[1], int(r[2] or 0)) for r in session.execute(gateways_q)}
    summaries = []
    for site in session.execute(sites_q):
        in_custody, next_deadline = custody.get(site.id, (0, None))
        open_alerts, unacknowledged = alerts.get(site.id, (0, 0))
        summaries.append(
            SiteSummary(
                site_id=site.id, name=site.name, kind=site.kind, timezone=site.timezone, version=site.live_version,
                subjects_in_custody=in_custody, staff_present=staff.get(site.id, 0), open_alerts=open_alerts,
                unacknowledged_alerts=int(unacknowledged), next_deadline_ts=next_deadline,
                last_report_ts=gateway_rows.get(site.id, (None, 0))[0],
                chain_conflicts=gateway_rows.get(site.id, (None, 0))[1],
            )
        )
    return Overview(generated_ts=now, sites=summaries)
