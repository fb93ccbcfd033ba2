"""A gateway's trust at the center: its signing key and the chain-conflict mark, both audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core_ext.chain import KeyProblem, key_id, load_public_key, raw_public_key
from server.db import begin_write
from server.models import Gateway, GatewayAudit, User
from server.services.errors import Conflict, NotFound
from server.services.live_signal import bump_site_version


class BadPublicKey(ValueError):
    """The PEM is not an Ed25519 public key (HTTP 422)."""


def parse_public_key(pem: str) -> tuple[str, str]:
    """(normalised PEM, key id) of an Ed25519 SubjectPublicKeyInfo PEM; BadPublicKey otherwise."""
    try:
        key = load_public_key(pem)
    except KeyProblem as exc:
        raise BadPublicKey(str(exc)) from exc
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    normalised = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return normalised, key_id(raw_public_key(key))


def _gateway(session: Session, gateway_id: str) -> Gateway:
    gateway = session.get(Gateway, gateway_id)
    if gateway is None:
        raise NotFound(f"gateway {gateway_id!r} not found")
    return gateway


def _audit(session: Session, gateway_id: str, action: str, now: int, user: User | None, comment: str) -> None:
    session.add(
        GatewayAudit(
            gateway_id=gateway_id,
            action=action,
            at_ts=now,
            user_id=user.id if user else None,
            username=user.username if user else None,
            comment=comment,
        )
    )


def register_key_first_use(session: Session, gateway_id: str, pem: str, now: int) -> Gateway:
    """The gateway enrols its own key: accepted when none is registered (trust on first use),
    a no-op for the same key, Conflict for another one (only an admin may replace it)."""
    normalised, kid = parse_public_key(pem)
    begin_write(session)
    gateway = _gateway(session, gateway_id)
    if gateway.public_key_pem is not None:
        if gateway.key_id == kid:
            session.commit()
            return gateway
        raise Conflict(f"gateway {gateway_id!r} already has key {gateway.key_id}; an admin must replace it")
    gateway.public_key_pem, gateway.key_id = normalised, kid
    _audit(session, gateway_id, "key_registered", now, None, f"key {kid} enrolled by the gateway (trust on first use)")
    session.commit()
    return gateway


def set_key(session: Session, gateway_id: str, pem: str, now: int, user: User | None, comment: str) -> Gateway:
    """An admin (API) or the operator (CLI, user None) registers or replaces the key."""
    normalised, kid = parse_public_key(pem)
    begin_write(session)
    gateway = _gateway(session, gateway_id)
    old = gateway.key_id
    gateway.public_key_pem, gateway.key_id = normalised, kid
    what = f"key {kid} registered" if old is None else f"key {old} replaced by {kid}"
    _audit(
        session, gateway_id, "key_replaced" if old else "key_registered", now, user, f"{what}: {comment}".rstrip(": ")
    )
    session.commit()
    return gateway


def clear_conflict(session: Session, gateway_id: str, user: User, comment: str, now: int) -> Gateway:
    begin_write(session)
    gateway = _gateway(session, gateway_id)
    if gateway.chain_conflict_seq is None:
        raise Conflict(f"gateway {gateway_id!r} has no chain conflict to clear")
    _audit(
        session,
        gateway_id,
        "conflict_cleared",
        now,
        user,
        f"conflict at seq {gateway.chain_conflict_seq} cleared: {comment}",
    )
    gateway.chain_conflict_seq = gateway.chain_conflict_ts = gateway.chain_conflict_detail = None
    bump_site_version(session, gateway.site_id)
    session.commit()
    return gateway


def audit_log(session: Session, gateway_id: str) -> list[GatewayAudit]:
    _gateway(session, gateway_id)
    return list(
        session.execute(
            select(GatewayAudit).where(GatewayAudit.gateway_id == gateway_id).order_by(GatewayAudit.id)
        ).scalars()
    )
