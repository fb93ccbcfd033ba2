from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from server.api.deps import TOKEN_COOKIE, CurrentUser, SessionDep, SettingsDep
from server.api.login_check import LoginRefused, check_login
from server.schemas.users import Token, UserPublic
from server.security import now_ms
from server.services import users

router = APIRouter(tags=["login"])


@router.post(
    "/login/access-token",
    response_model=Token,
    responses={
        400: {"description": "incorrect username or password"},
        429: {"description": "too many failed log-ins for this account or address: wait Retry-After seconds"},
        503: {"description": "too many log-ins waiting for a password check: retry after Retry-After seconds"},
    },
)
async def login_access_token(
    request: Request, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: form fields `username` and `password`; returns a bearer token.

    Throttled: after a few failures for an account or from an address, each further failure
    doubles the wait (429 with Retry-After)."""
    try:
        user = await check_login(request, form.username, form.password)
    except LoginRefused as refused:
        raise HTTPException(refused.status, detail=refused.detail, headers=refused.headers) from refused

    def issue() -> tuple[str, int]:
        with request.app.state.sessions() as session:
            return users.issue_token(session, user, now_ms(), settings.token_ttl_s)

    token, expires = await run_in_threadpool(issue)
    return Token(access_token=token, expires_ts=expires)


@router.post("/logout", status_code=204)
def logout(request: Request, session: SessionDep, user: CurrentUser) -> None:
    """Revoke the token this request was made with."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE, "")
    users.revoke_token(session, token)


@router.get("/users/me", response_model=UserPublic)
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
