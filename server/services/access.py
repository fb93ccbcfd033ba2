"""Who may see and do what: role and site scope, checked by every route through these helpers."""
from __future__ import annotations

from server.models import User
from server.schemas.users import Role
from server.services.errors import Forbidden, NotFound

# What each role may do beyond seeing its sites' board and alerts.
_CAPABILITIES: dict[Role, frozenset[str]] = {
    Role.admin: frozenset({"manage", "subjects", "items", "handle_alerts"}),
    Role.center_monitor: frozenset({"subjects", "items", "handle_alerts"}),
    Role.area_staff: frozenset({"subjects", "handle_alerts"}),
    Role.property_custodian: frozenset({"items", "handle_alerts"}),
}


def visible_site_ids(user: User) -> set[str] | None:
    """None means every site."""
    return {user.site_id} if Role(user.role).site_scoped else None  # type: ignore[arg-type]  # a site-scoped role always has a site_id (services/users.py refuses one without)


def can_see_site(user: User, site_id: str) -> bool:
    visible = visible_site_ids(user)
    return visible is None or site_id in visible


def require_site(user: User, site_id: str) -> None:
    # A site outside the user's scope is reported as missing, so scope does not leak site ids.
    if not can_see_site(user, site_id):
        raise NotFound(f"site {site_id!r} not found")


def require_capability(user: User, capability: str) -> None:
    if capability not in _CAPABILITIES[Role(user.role)]:
        raise Forbidden(f"role {user.role} may not access {capability}")


def has_capability(user: User, capability: str) -> bool:
    return capability in _CAPABILITIES[Role(user.role)]
