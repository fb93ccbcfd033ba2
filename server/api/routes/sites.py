"""Sites for users: list, detail, live board, trails, items; gateway registration for admins."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.api.deps import AdminUser, CurrentUser, SessionDep
from server.schemas.board import Overview, SiteBoard
from server.schemas.sites import (
    GatewayCreate,
    GatewayPublic,
    GatewayRegistered,
    SiteCreate,
    SiteDetail,
    SitePlan,
    SitePublic,
)
from server.schemas.trails import ItemPublic, ItemTrail, SubjectTrail
from server.security import now_ms
from server.services import board, sites, trails
from server.services.access import require_capability, require_site, visible_site_ids

router = APIRouter(tags=["sites"])


@router.get("/sites", response_model=list[SitePublic])
def list_sites(session: SessionDep, user: CurrentUser) -> list[SitePublic]:
    return [SitePublic.model_validate(s) for s in sites.list_sites(session, user)]


@router.post("/sites", response_model=SitePublic, status_code=201)
def create_site(session: SessionDep, _: AdminUser, data: SiteCreate) -> SitePublic:
    return SitePublic.model_validate(sites.create_site(session, data, now_ms()))


@router.get("/sites/{site_id}", response_model=SiteDetail)
def read_site(session: SessionDep, user: CurrentUser, site_id: str) -> SiteDetail:
    require_site(user, site_id)
    site = sites.get_site(session, site_id)
    return SiteDetail.model_validate(
        {**SitePublic.model_validate(site).model_dump(), "zones": sites.site_zones(session, site_id)}
    )


@router.get("/sites/{site_id}/plan", response_model=SitePlan)
def read_plan(session: SessionDep, user: CurrentUser, site_id: str) -> SitePlan:
    """The floor plan (metres, x right, y down): the one the gateway sent, else a generated grid."""
    require_site(user, site_id)
    return SitePlan.model_validate(sites.site_plan(session, sites.get_site(session, site_id)))


# The board is the hottest read: its model is built once and serialised directly (returning a
# Response skips FastAPI's second validation of an object that is already a validated model).


@router.get("/board", response_model=Overview)
def read_overview(session: SessionDep, user: CurrentUser) -> Response:
    """Every site the user may see, in one line each: the center's wall."""
    return Response(
        board.overview(session, visible_site_ids(user), now_ms()).model_dump_json(), media_type="application/json"
    )


@router.get("/sites/{site_id}/board", response_model=SiteBoard)
def read_board(session: SessionDep, user: CurrentUser, site_id: str) -> Response:
    """Zones with subjects in custody and staff present, and alerts not yet resolved."""
    require_site(user, site_id)
    return Response(board.site_board(session, site_id, now_ms()).model_dump_json(), media_type="application/json")


@router.get("/sites/{site_id}/subjects/{person}/trail", response_model=SubjectTrail)
def read_subject_trail(session: SessionDep, user: CurrentUser, site_id: str, person: str) -> SubjectTrail:
    """Check-in, stays (with the cameras and time range to pull for each), check-out, alerts."""
    require_site(user, site_id)
    require_capability(user, "subjects")
    return trails.subject_trail(session, site_id, person)


@router.get("/sites/{site_id}/items", response_model=list[ItemPublic])
def list_items(session: SessionDep, user: CurrentUser, site_id: str) -> list[ItemPublic]:
    """The property ledger of a site."""
    require_site(user, site_id)
    require_capability(user, "items")
    return trails.list_items(session, site_id)


@router.get("/sites/{site_id}/items/{item}/trail", response_model=ItemTrail)
def read_item_trail(session: SessionDep, user: CurrentUser, site_id: str, item: str) -> ItemTrail:
    require_site(user, site_id)
    require_capability(user, "items")
    return trails.item_trail(session, site_id, item)


@router.get("/sites/{site_id}/gateways", response_model=list[GatewayPublic])
def list_gateways(session: SessionDep, _: AdminUser, site_id: str) -> list[GatewayPublic]:
    return [GatewayPublic.model_validate(g) for g in sites.list_gateways(session, site_id)]


@router.post("/sites/{site_id}/gateways", response_model=GatewayRegistered, status_code=201)
def register_gateway(session: SessionDep, _: AdminUser, site_id: str, data: GatewayCreate) -> GatewayRegistered:
    """Register a gateway for a site. The credential is returned once and stored only as a hash."""
    gateway, credential = sites.register_gateway(session, site_id, data, now_ms())
    return GatewayRegistered.model_validate(
        {**GatewayPublic.model_validate(gateway).model_dump(), "credential": credential}
    )


@router.post("/gateways/{gateway_id}/credential", response_model=GatewayRegistered)
def rotate_credential(session: SessionDep, _: AdminUser, gateway_id: str) -> GatewayRegistered:
    """Issue a new credential for a gateway (e.g. a replaced device); the old one stops working at once."""
    gateway, credential = sites.rotate_credential(session, gateway_id)
    return GatewayRegistered.model_validate(
        {**GatewayPublic.model_validate(gateway).model_dump(), "credential": credential}
    )
