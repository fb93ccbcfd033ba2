"""Trails per subject and per item, assembled from the stored journal entries."""
from __future__ import annotations

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.models import Alert, CustodySubject, Item, JournalEntry, Site, SitePerson, SiteZone
from server.schemas.alerts import AlertPublic
from server.schemas.trails import (
    CustodyPublic,
    DecisionPublic,
    ExitPublic,
    FootageRef,
    ItemPublic,
    ItemTrail,
    SlotOpening,
    StayPublic,
    SubjectTrail,
    WelfarePublic,
)
from server.schemas.uplink_bodies import slot_name
from server.services.errors import NotFound
from server.services.sites import get_site


def subject_trail(session: Session, site_id: str, person: str) -> SubjectTrail:
    site = get_site(session, site_id)
    custody = session.get(CustodySubject, (site_id, person))
    zones = {z.zone_id: z for z in session.execute(select(SiteZone).where(SiteZone.site_id == site_id)).scalars()}
    trail_body = session.execute(
        select(JournalEntry.body)
        .where(JournalEntry.site_id == site_id, JournalEntry.subject == person, JournalEntry.kind == "trail")
        .order_by(JournalEntry.ts.desc(), JournalEntry.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    # A trail record from an earlier custody stay does not describe the current one.
    if trail_body is not None:
        trail = msgspec.json.decode(trail_body)
        if custody is not None and custody.state != "out" and (trail.get("checkin_ts") or 0) < (custody.checkin_ts or 0):
            trail = None
    else:
        trail = None
    if custody is None and trail is None:
        raise NotFound(f"no subject {person!r} at site {site_id!r}")

    if trail is not None:
        source = "gateway"
        checkin_ts, checkout_ts = trail.get("checkin_ts"), trail.get("checkout_ts")
        stays = [
            _stay(zones, s["zone"], s["enter_ts"], s.get("leave_ts"), s.get("officers", []), s.get("unrecorded_ms"))
            for s in trail.get("stays", [])
        ]
        steps_missing, closed = trail.get("steps_missing", []), trail.get("closed")
    else:
        assert custody is not None  # no trail and no custody was refused above
        source = "live"
        checkin_ts, checkout_ts = custody.checkin_ts, custody.checkout_ts
        stays = _stays_from_locations(session, zones, site_id, person, checkin_ts)
        steps_missing, closed = [], None

    alerts_q = select(Alert).where(Alert.site_id == site_id, Alert.subject == person)
    if checkin_ts is not None:
        alerts_q = alerts_q.where(Alert.raised_ts >= checkin_ts)
    alerts = session.execute(alerts_q.order_by(Alert.raised_ts, Alert.id)).scalars()
    return SubjectTrail(
        site_id=site_id, site_name=site.name, timezone=site.timezone, person=person, source=source,
        custody=CustodyPublic.model_validate(custody, from_attributes=True) if custody else None,
        checkin_ts=checkin_ts, checkout_ts=checkout_ts, stays=stays, steps_missing=steps_missing, closed=closed,
        alerts=[AlertPublic.model_validate(a) for a in alerts],
        **_second_layer(session, site_id, person, checkin_ts, checkout_ts, trail, custody),
    )


def _second_layer(session: Session, site_id: str, person: str, checkin_ts: int | None, checkout_ts: int | None,
                  trail: dict | None, custody: CustodySubject | None) -> dict:
    """Exits, welfare, decisions, outcome and who collected the person (DESIGN §6.2).

    The gateway's trail record is the source once it exists; the journal's events of this custody
    complete it (a leave's approver is on the event only) and stand in for it while the subject is in.
    """
    query = select(JournalEntry.body).where(
        JournalEntry.site_id == site_id, JournalEntry.subject == person, JournalEntry.kind == "event")
    if checkin_ts is not None:
        query = query.where(JournalEntry.ts >= checkin_ts)
    if checkout_ts is not None:
        query = query.where(JournalEntry.ts <= checkout_ts)
    exits: list[dict] = []
    welfare: list[WelfarePublic] = []
    decisions: list[DecisionPublic] = []
    checkout: dict = {}
    approvers: dict[int, str | None] = {}
    for body in session.execute(query.order_by(JournalEntry.ts, JournalEntry.seq)).scalars():
        event = msgspec.json.decode(body)
        kind, ts = event.get("type"), event.get("ts")
        if kind == "leave":
            approvers[ts] = event.get("approved_by")
            if not exits or exits[-1]["return_ts"] is not None:
                exits.append({"leave_ts": ts, "return_ts": None, "reason": event.get("reason"),
                              "until_ts": event.get("until_ts"), "approved_by": event.get("approved_by")})
        elif kind == "return":
            if exits and exits[-1]["return_ts"] is None:
                exits[-1]["return_ts"] = ts
        elif kind == "welfare":
            welfare.append(WelfarePublic(ts=ts, kind=event.get("kind")))
        elif kind == "decision":
            decisions.append(DecisionPublic(ts=ts, kind=event.get("kind")))
        elif kind == "checkout":
            checkout = event
    if trail is not None and "exits" in trail:
        exits = [{**e, "approved_by": approvers.get(e.get("leave_ts"))} for e in trail.get("exits") or []]
        welfare = [WelfarePublic(**w) for w in trail.get("welfare") or []]
        decisions = [DecisionPublic(**d) for d in trail.get("decisions") or []]
        checkout = {k: trail.get(k) for k in ("outcome", "released_to", "belongings", "belongings_reason")}
    fresh = custody is not None and (trail is None or custody.checkin_ts == (trail.get("checkin_ts") or custody.checkin_ts))
    return {
        "minor": bool(trail.get("minor")) if trail and "minor" in trail else bool(fresh and custody and custody.minor),
        "vulnerable": bool(trail.get("vulnerable")) if trail and "vulnerable" in trail
        else bool(fresh and custody and custody.vulnerable),
        "guardian": trail.get("guardian") if trail and "guardian" in trail else (custody.guardian if fresh and custody else None),
        "exits": [ExitPublic(**e) for e in exits], "welfare": welfare, "decisions": decisions,
        "outcome": checkout.get("outcome"), "released_to": checkout.get("released_to"),
        "belongings": checkout.get("belongings") or (("returned" if checkout else None) if trail is None else None),
        "belongings_reason": checkout.get("belongings_reason"),
    }


def _stay(zones: dict[str, SiteZone], zone: str | None, enter: int, leave: int | None, officers: list[str],
          unrecorded_ms: int | None) -> StayPublic:
    described = zones.get(zone) if zone else None
    cameras = described.cameras if described else []
    return StayPublic(
        zone=zone, zone_type=described.type if described else None, enter_ts=enter, leave_ts=leave,
        officers=officers, unrecorded_ms=unrecorded_ms,
        footage=[FootageRef(camera=c, from_ts=enter, to_ts=leave) for c in cameras],
    )


# Staff already sitting in a zone when the subject was checked in were located before it; look
# this far back for them (nobody holds a zone for longer without a re-read).
_STAFF_LOOKBACK_MS = 12 * 3_600_000


def _stays_from_locations(session: Session, zones: dict[str, SiteZone], site_id: str, person: str,
                          since_ts: int | None) -> list[StayPublic]:
    """The subject's stays so far, each with the staff located in that zone at some time during it."""
    own = _zone_intervals(session, site_id, [person], since_ts).get(person, [])
    if not own:
        return []
    staff = list(session.execute(select(SitePerson.person).where(
        SitePerson.site_id == site_id, SitePerson.category.not_in(("subject", "guardian")))).scalars())
    staff_since = None if since_ts is None else since_ts - _STAFF_LOOKBACK_MS
    staff_intervals = _zone_intervals(session, site_id, staff, staff_since) if staff else {}
    stays = []
    for zone, enter, leave in own:
        officers = sorted(
            who for who, intervals in staff_intervals.items()
            if any(z == zone and s < (leave if leave is not None else 2**62) and (e is None or e > enter)
                   for z, s, e in intervals)
        )
        stays.append(_stay(zones, zone, enter, leave, officers, None))
    return stays


def _zone_intervals(session: Session, site_id: str, people: list[str],
                    since_ts: int | None) -> dict[str, list[tuple[str, int, int | None]]]:
    """(zone, enter, leave) per person from their location records; leave is None while there."""
    query = select(JournalEntry.subject, JournalEntry.ts, JournalEntry.body).where(
        JournalEntry.site_id == site_id, JournalEntry.subject.in_(people), JournalEntry.kind == "location"
    )
    if since_ts is not None:
        query = query.where(JournalEntry.ts >= since_ts)
    intervals: dict[str, list[tuple[str, int, int | None]]] = {}
    current: dict[str, tuple[str, int]] = {}
    for who, ts, body in session.execute(query.order_by(JournalEntry.ts, JournalEntry.seq)):
        if who is None:  # the query selects subjects IN people
            continue
        zone = msgspec.json.decode(body).get("zone")
        here = current.get(who)
        if here is not None:
            if zone == here[0]:
                continue
            intervals.setdefault(who, []).append((here[0], here[1], ts))
            del current[who]
        if zone is not None:
            current[who] = (zone, ts)
    for who, (zone, enter) in current.items():
        intervals.setdefault(who, []).append((zone, enter, None))
    return intervals


def list_items(session: Session, site_id: str) -> list[ItemPublic]:
    rows = session.execute(select(Item).where(Item.site_id == site_id).order_by(Item.case, Item.item)).scalars()
    return [ItemPublic.model_validate(r, from_attributes=True) for r in rows]


def item_trail(session: Session, site_id: str, item_id: str) -> ItemTrail:
    item = session.get(Item, (site_id, item_id))
    if item is None:
        raise NotFound(f"no item {item_id!r} at site {site_id!r}")
    events: list[dict] = []
    gateway_trail = None
    closed = item.closed
    for kind, body in session.execute(
        select(JournalEntry.kind, JournalEntry.body)
        .where(JournalEntry.site_id == site_id, JournalEntry.subject == item_id,
               JournalEntry.kind.in_(("event", "item_trail")))
        .order_by(JournalEntry.ts, JournalEntry.seq)
    ):
        decoded = msgspec.json.decode(body)
        if kind == "item_trail":
            gateway_trail = decoded.get("events")
            closed = bool(decoded.get("closed"))
        else:
            events.append(decoded)
    slot_subject = slot_name(item.bank, item.slot) if item.bank is not None and item.slot is not None else None
    openings = _slot_openings(session, site_id, item, slot_subject) if slot_subject else []
    alerts_q = select(Alert).where(Alert.site_id == site_id)
    alerts_q = alerts_q.where(or_(Alert.subject == item_id, Alert.subject == slot_subject) if slot_subject else Alert.subject == item_id)
    alerts = session.execute(alerts_q.order_by(Alert.raised_ts, Alert.id)).scalars()
    return ItemTrail(
        site_id=site_id, item=ItemPublic.model_validate(item, from_attributes=True), openings=openings, events=events,
        gateway_trail=gateway_trail, closed=closed, alerts=[AlertPublic.model_validate(a) for a in alerts],
    )


def _slot_openings(session: Session, site_id: str, item: Item, slot: str) -> list[SlotOpening]:
    site = session.get(Site, site_id)
    lockers = (site.lockers if site is not None else None) or []
    bank_zone = next((b.get("zone") for b in lockers if b.get("id") == item.bank), None)
    zone = session.get(SiteZone, (site_id, bank_zone)) if bank_zone else None
    if zone is not None:
        cameras = zone.cameras
    else:  # the descriptor does not place the bank: every camera of the site's property stores
        cameras = [c for z in session.execute(select(SiteZone).where(
            SiteZone.site_id == site_id, SiteZone.type == "property_store")).scalars() for c in z.cameras]
    query = select(JournalEntry.ts, JournalEntry.body).where(
        JournalEntry.site_id == site_id, JournalEntry.subject == slot, JournalEntry.kind == "event")
    if item.intake_ts is not None:
        query = query.where(JournalEntry.ts >= item.intake_ts)
    openings: list[SlotOpening] = []
    current: SlotOpening | None = None
    for ts, body in session.execute(query.order_by(JournalEntry.ts, JournalEntry.seq)):
        event = msgspec.json.decode(body)
        state = event.get("state")
        if state == "open" and current is None:
            current = SlotOpening(slot=slot, open_ts=ts, close_ts=None, items_sensed=None, footage=[])
        elif state == "closed" and current is not None:
            current.close_ts = ts
            current.items_sensed = event.get("items")
            openings.append(current)
            current = None
    if current is not None:
        openings.append(current)
    for opening in openings:
        opening.footage = [FootageRef(camera=c, from_ts=opening.open_ts, to_ts=opening.close_ts) for c in cameras]
    return openings
