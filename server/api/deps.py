"""Request dependencies: settings, a database session, the authenticated user or gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from server.live import LiveHub
from server.models import Gateway, User
from server.security import now_ms
from server.services.sites import gateway_for_credential
from server.services.users import user_for_token
from server.settings import ServerSettings

TOKEN_COOKIE = "custody_token"

_user_token = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token", auto_error=False)
_gateway_credential = HTTPBearer(
    auto_error=False, scheme_name="GatewayCredential", description="the per-gateway credential printed at registration"
)


def get_settings(request: Request) -> ServerSettings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_hub(request: Request) -> LiveHub:
    return request.app.state.hub


SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
HubDep = Annotated[LiveHub, Depends(get_hub)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def user_from_request(request: Request, bearer: str | None) -> User | None:
    """The user behind the Authorization header or, for browser pages, the login cookie."""
    token = bearer or request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    # A short session of its own: the route's transaction starts clean (SQLite writers then take
    # the write lock before reading anything, which avoids stale-snapshot conflicts).
    with request.app.state.sessions() as session:
        return user_for_token(session, token, now_ms())


def get_current_user(request: Request, token: Annotated[str | None, Depends(_user_token)]) -> User:
    user = user_from_request(request, token)
    if user is None:
        raise _unauthorized("not authenticated: log in for a bearer token (it may have expired)")
    return user


def get_current_gateway(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_gateway_credential)]
) -> Gateway:
    if credentials is None:
        raise _unauthorized("gateway credential missing: send Authorization: Bearer <credential>")
    with request.app.state.sessions() as session:
        gateway = gateway_for_credential(session, credentials.credentials)
    if gateway is None:
        raise _unauthorized("gateway credential not recognised (or the gateway is disabled)")
    return gateway


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentGateway = Annotated[Gateway, Depends(get_current_gateway)]


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="admin only")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
