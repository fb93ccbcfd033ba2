"""The live board, read from the projections the ingest keeps current (a handful of indexed queries)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from core_ext.site import RulesConfig
from server.models import Alert, CustodySubject, Gateway, Item, Site, SitePerson, SiteZone
from server.schemas.alerts import AlertPublic
from server.schemas.board import (
    DecisionOnBoard,
    GatewayConflict,
    GuardianOnBoard,
    ItemCounts,
    Overview,
    SiteBoard,
    SiteSummary,
    StaffOnBoard,
    SubjectOnBoard,
    TempExitOnBoard,
    ZoneOnBoard,
)
from server.services.sites import get_site

BOARD_ALERT_LIMIT = 200
_IN_CUSTODY = ("in", "extended")
# Located people who are neither subjects nor guardians count as staff (see below).
_NOT_STAFF = ("subject", "guardian")
_HOUR_MS = 3_600_000


def site_rule_hours(site: Site, name: str) -> float:
    """A rule setting in hours from the site's descriptor, else the engine's default (core_ext/site.py)."""
    value = (site.rules or {}).get(name)
    return float(value if value is not None else RulesConfig.model_fields[name].default)


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
            CustodySubject.minor, CustodySubject.vulnerable, CustodySubject.guardian, CustodySubject.out_since_ts,
            CustodySubject.out_reason, CustodySubject.out_until_ts, CustodySubject.out_approved_by,
            CustodySubject.decision_kind, CustodySubject.decision_ts, CustodySubject.last_meal_ts,
        )
        .outerjoin(
            SitePerson, (SitePerson.site_id == CustodySubject.site_id) & (SitePerson.person == CustodySubject.person)
        )
        .where(CustodySubject.site_id == site_id, CustodySubject.state.in_(_IN_CUSTODY))
        .order_by(CustodySubject.arrived_ts, CustodySubject.person)
    ).all()
    staff = session.execute(
        select(SitePerson.person, SitePerson.role, SitePerson.sex, SitePerson.zone, SitePerson.zone_since_ts)
        .where(SitePerson.site_id == site_id, SitePerson.zone.is_not(None), SitePerson.category.not_in(_NOT_STAFF))
        .order_by(SitePerson.person)
    ).all()
    guardians = _guardians(session, site_id, subjects)
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
    out_of_area: list[SubjectOnBoard] = []
    transfer_ms = round(site_rule_hours(site, "transfer_limit_h") * _HOUR_MS)
    meal_ms = round(site_rule_hours(site, "meal_interval_h") * _HOUR_MS)
    for row in subjects:
        subject = _subject(row._asdict(), guardians, transfer_ms, meal_ms)
        if subject.out is not None:
            out_of_area.append(subject)
            continue
        zone = by_zone.get(subject.zone) if subject.zone else None
        if zone is None and subject.zone:
            zone = by_zone[subject.zone] = _unknown_zone(subject.zone)
        (zone.subjects if zone else unlocated).append(subject)
    for staff_row in staff:
        zone = by_zone.get(staff_row.zone)
        if zone is None:
            zone = by_zone[staff_row.zone] = _unknown_zone(staff_row.zone)
        zone.staff.append(StaffOnBoard(**staff_row._asdict()))
    for guardian in guardians:
        if guardian["zone"] is not None:
            zone = by_zone.get(guardian["zone"])
            if zone is None:
                zone = by_zone[guardian["zone"]] = _unknown_zone(guardian["zone"])
            if all(g.person != guardian["person"] for g in zone.guardians):
                zone.guardians.append(StaffOnBoard(person=guardian["person"], role=guardian["role"], sex=guardian["sex"],
                                                   zone=guardian["zone"], zone_since_ts=guardian["zone_since_ts"]))
    return SiteBoard(
        site_id=site.id, name=site.name, kind=site.kind, timezone=site.timezone, version=site.live_version,
        generated_ts=now, zones=list(by_zone.values()), unlocated=unlocated, out_of_area=out_of_area,
        alerts=[AlertPublic.model_validate(a) for a in alerts], items=items, chain_conflicts=conflicts,
    )


def _guardians(session: Session, site_id: str, subjects: Sequence[Any]) -> list[dict[str, Any]]:
    """The guardians of the subjects on the board: enrolled `for` one of them, or named by a check-in."""
    persons = [r.person for r in subjects]
    named = [r.guardian for r in subjects if r.guardian]
    if not persons:
        return []
    rows = session.execute(
        select(SitePerson.person, SitePerson.role, SitePerson.sex, SitePerson.zone, SitePerson.zone_since_ts,
               SitePerson.guardian_for)
        .where(SitePerson.site_id == site_id, or_(
            and_(SitePerson.category == "guardian", SitePerson.guardian_for.in_(persons)),
            SitePerson.person.in_(named or [""])))
        .order_by(SitePerson.person)
    ).all()
    return [r._asdict() for r in rows]


def _subject(row: dict[str, Any], guardians: list[dict[str, Any]], transfer_ms: int, meal_ms: int) -> SubjectOnBoard:
    """One subject's card: the custody projection plus who guards them, their exit, decision and meals."""
    named = row.pop("guardian")
    out_since, reason, until, approved_by = (row.pop(k) for k in ("out_since_ts", "out_reason", "out_until_ts",
                                                                 "out_approved_by"))
    decision_kind, decision_ts = row.pop("decision_kind"), row.pop("decision_ts")
    theirs = [g for g in guardians if g["guardian_for"] == row["person"] or (named and g["person"] == named)]
    on_board = [GuardianOnBoard(person=g["person"], zone=g["zone"],
                                with_subject=row["zone"] is not None and g["zone"] == row["zone"]) for g in theirs]
    if named and all(g.person != named for g in on_board):  # named by the check-in, never seen by the center
        on_board.append(GuardianOnBoard(person=named, zone=None, with_subject=False))
    meal_base = row["last_meal_ts"] if row["last_meal_ts"] is not None else row["checkin_ts"]
    return SubjectOnBoard(
        **row, guardians=on_board, guardian_present=any(g.with_subject for g in on_board),
        out=TempExitOnBoard(since_ts=out_since, reason=reason, until_ts=until, approved_by=approved_by)
        if out_since is not None else None,
        decision=DecisionOnBoard(kind=decision_kind, ts=decision_ts, transfer_deadline_ts=decision_ts + transfer_ms)
        if decision_ts is not None else None,
        meal_due_ts=meal_base + meal_ms if meal_ms > 0 and meal_base is not None else None,
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
    return ZoneOnBoard(id=zone_id, type="unknown", name=None, cameras=[], subjects=[], staff=[], guardians=[])


def overview(session: Session, site_ids: set[str] | None, now: int) -> Overview:
    sites_q = select(Site.id, Site.name, Site.kind, Site.timezone, Site.live_version).order_by(Site.id)
    custody_q = (
        # a decision stops the summons clock (DESIGN §6.2): its deadline is no longer the next one
        select(CustodySubject.site_id, func.count(),
               func.min(case((CustodySubject.decision_ts.is_(None), CustodySubject.deadline_ts), else_=None)))
        .where(CustodySubject.state.in_(_IN_CUSTODY))
        .group_by(CustodySubject.site_id)
    )
    staff_q = (
        select(SitePerson.site_id, func.count())
        .where(SitePerson.zone.is_not(None), SitePerson.category.not_in(_NOT_STAFF))
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
