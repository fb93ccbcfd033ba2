"""Gateway trust: signing keys (enrolled by the gateway or set by an admin) and the chain-conflict mark."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.api.deps import AdminUser, CurrentGateway, SessionDep
from server.schemas.sites import (
    ConflictClear,
    GatewayAuditPublic,
    GatewayPublic,
    PublicKeyIn,
    PublicKeyReplace,
)
from server.security import now_ms
from server.services import gateway_trust

router = APIRouter(tags=["gateway trust"])

_KEY_ERRORS: dict[int | str, dict[str, Any]] = {409: {"description": "another key is registered already"},
               422: {"description": "not an Ed25519 public key in PEM (field public_key_pem)"}}


@router.put("/gateway/public-key", response_model=GatewayPublic, responses=_KEY_ERRORS)
def enrol_public_key(session: SessionDep, gateway: CurrentGateway, body: PublicKeyIn) -> GatewayPublic:
    """The gateway registers its own chain-signing key: trust on first use (audited); the same key
    again is a no-op; a different key while one is registered is 409 (an admin replaces keys)."""
    return GatewayPublic.model_validate(gateway_trust.register_key_first_use(session, gateway.id, body.public_key_pem, now_ms()))


@router.put("/gateways/{gateway_id}/public-key", response_model=GatewayPublic, responses=_KEY_ERRORS)
def replace_public_key(session: SessionDep, user: AdminUser, gateway_id: str, body: PublicKeyReplace) -> GatewayPublic:
    """Register or replace a gateway's key (a replaced device, a re-imaged box); audited with the comment."""
    return GatewayPublic.model_validate(
        gateway_trust.set_key(session, gateway_id, body.public_key_pem, now_ms(), user, body.comment))


@router.post("/gateways/{gateway_id}/chain-conflict/clear", response_model=GatewayPublic,
             responses={409: {"description": "the gateway has no chain conflict"}})
def clear_chain_conflict(session: SessionDep, user: AdminUser, gateway_id: str, body: ConflictClear) -> GatewayPublic:
    """Clear the chain-conflict mark once the cause is understood; the comment is kept in the audit log."""
    return GatewayPublic.model_validate(gateway_trust.clear_conflict(session, gateway_id, user, body.comment, now_ms()))


@router.get("/gateways/{gateway_id}/audit", response_model=list[GatewayAuditPublic])
def gateway_audit(session: SessionDep, _: AdminUser, gateway_id: str) -> list[GatewayAuditPublic]:
    """Chain conflicts, their clearing and key registrations, oldest first."""
    return [GatewayAuditPublic.model_validate(a) for a in gateway_trust.audit_log(session, gateway_id)]
