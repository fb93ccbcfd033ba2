"""Sites, their zones, and the gateways that report for them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core_ext.layout import build_plan, flow_columns, grid_zones
from server.db import begin_write
from server.models import Gateway, GatewayAudit, Site, SiteZone, User
from server.schemas.sites import GatewayCreate, SiteCreate, SiteDescriptor, SitePlan
from server.security import CREDENTIAL_PREFIX, new_secret, secret_digest
from server.services.access import visible_site_ids
from server.services.errors import Conflict, Forbidden, NotFound
from server.services.live_signal import bump_site_version


def create_site(session: Session, data: SiteCreate, now: int) -> Site:
    begin_write(session)
    if session.get(Site, data.id) is not None:
        raise Conflict(f"site {data.id!r} exists")
    site = Site(
        id=data.id, name=data.name, kind=data.kind, timezone=data.timezone, lockers=[], doors=[],
        created_ts=now, live_version=0,
    )
    session.add(site)
    session.commit()
    return site


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id!r} not found")
    return site


def site_zones(session: Session, site_id: str) -> list[SiteZone]:
    return list(
        session.execute(select(SiteZone).where(SiteZone.site_id == site_id).order_by(SiteZone.position)).scalars()
    )


def list_sites(session: Session, user: User) -> list[Site]:
    query = select(Site).order_by(Site.id)
    visible = visible_site_ids(user)
    if visible is not None:
        query = query.where(Site.id.in_(visible))
    return list(session.execute(query).scalars())


def register_gateway(session: Session, site_id: str, data: GatewayCreate, now: int) -> tuple[Gateway, str]:
    begin_write(session)
    get_site(session, site_id)
    if session.get(Gateway, data.id) is not None:
        raise Conflict(f"gateway {data.id!r} exists")
    credential = new_secret(CREDENTIAL_PREFIX)
    gateway = Gateway(
        id=data.id, site_id=site_id, name=data.name, credential_hash=secret_digest(credential),
        last_seq=0, active=True, created_ts=now, signatures_verified=0, signatures_unverified=0,
    )
    if data.public_key_pem is not None:
        from server.services.gateway_trust import parse_public_key

        gateway.public_key_pem, gateway.key_id = parse_public_key(data.public_key_pem)
        session.add(GatewayAudit(gateway_id=data.id, action="key_registered", at_ts=now, user_id=None, username=None,
                                 comment=f"key {gateway.key_id} registered with the gateway"))
    session.add(gateway)
    session.commit()
    return gateway, credential


def rotate_credential(session: Session, gateway_id: str) -> tuple[Gateway, str]:
    begin_write(session)
    gateway = session.get(Gateway, gateway_id)
    if gateway is None:
        raise NotFound(f"gateway {gateway_id!r} not found")
    credential = new_secret(CREDENTIAL_PREFIX)
    gateway.credential_hash = secret_digest(credential)
    session.commit()
    return gateway, credential


def list_gateways(session: Session, site_id: str) -> list[Gateway]:
    return list(session.execute(select(Gateway).where(Gateway.site_id == site_id).order_by(Gateway.id)).scalars())


def gateway_for_credential(session: Session, credential: str) -> Gateway | None:
    gateway = session.execute(
        select(Gateway).where(Gateway.credential_hash == secret_digest(credential))
    ).scalar_one_or_none()
    if gateway is None or not gateway.active:
        return None
    return gateway


def put_descriptor(session: Session, gateway: Gateway, site_id: str, descriptor: SiteDescriptor, now: int) -> Site:
    begin_write(session)
    if site_id != gateway.site_id or descriptor.id != gateway.site_id:
        raise Forbidden(f"gateway {gateway.id!r} reports for site {gateway.site_id!r}, not {descriptor.id!r}")
    seen: set[str] = set()
    for index, zone in enumerate(descriptor.zones):
        if zone.id in seen:
            raise Conflict(f"zones[{index}].id: zone {zone.id!r} appears twice")
        seen.add(zone.id)
    if descriptor.plan is not None:
        _check_plan(descriptor.plan, seen)
    site = get_site(session, site_id)
    site.name = descriptor.name
    site.kind = descriptor.kind
    site.timezone = descriptor.timezone
    site.lockers = descriptor.lockers
    site.doors = descriptor.doors
    site.plan = descriptor.plan.model_dump(mode="json") if descriptor.plan is not None else None
    site.rules = descriptor.rules.model_dump(mode="json", exclude_none=True) if descriptor.rules is not None else None
    site.descriptor_ts = now
    session.execute(delete(SiteZone).where(SiteZone.site_id == site_id))
    session.add_all(
        SiteZone(
            site_id=site_id, zone_id=zone.id, position=index, type=zone.type, name=zone.name,
            cameras=zone.cameras, requires_recording=zone.requires_recording,
        )
        for index, zone in enumerate(descriptor.zones)
    )
    bump_site_version(session, site_id)
    session.commit()
    return site


def _check_plan(plan: SitePlan, zone_ids: set[str]) -> None:
    drawn: set[str] = set()
    for index, zone in enumerate(plan.zones):
        if zone.id not in zone_ids:
            raise Conflict(f"plan.zones[{index}].id: {zone.id!r} is no zone of the descriptor")
        if zone.id in drawn:
            raise Conflict(f"plan.zones[{index}].id: zone {zone.id!r} is drawn twice")
        drawn.add(zone.id)


def site_plan(session: Session, site: Site) -> dict[str, Any]:
    """The site's floor plan: the one its gateway sent, with zones it does not draw (or the whole
    plan, when none was sent) laid out on a grid in the descriptor's order."""
    zones = site_zones(session, site.id)
    plan = site.plan
    if plan is not None and {z["id"] for z in plan.get("zones", [])} >= {z.zone_id for z in zones}:
        return plan
    zone_list = [(z.zone_id, z.type) for z in zones]
    flow = (plan or {}).get("flow") or None
    return build_plan(
        "generated", zone_list, grid_zones(flow_columns(zone_list, [(a, b) for a, b in flow] if flow else None)),
        [(d.get("id"), d.get("zone")) for d in site.doors or [] if d.get("id")], {},
        [(b.get("id"), b.get("zone")) for b in site.lockers or [] if b.get("id")], {},
        flow or [],
    ) if zone_list else {"version": 1, "source": "generated", "bounds": [0, 0, 1, 1], "zones": [], "doors": [],
                         "lockers": [], "flow": []}
