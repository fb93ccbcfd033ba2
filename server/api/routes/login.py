from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from server.api.deps import TOKEN_COOKIE, CurrentUser, SessionDep, SettingsDep
from server.schemas.users import Token, UserPublic
from server.security import now_ms
from server.services import users

router = APIRouter(tags=["login"])


@router.post("/login/access-token", response_model=Token)
def login_access_token(
    session: SessionDep, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: form fields `username` and `password`; returns a bearer token."""
    user = users.authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="incorrect username or password")
    token, expires = users.issue_token(session, user, now_ms(), settings.token_ttl_s)
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
