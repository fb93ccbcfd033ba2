from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from server.api.deps import AdminUser, SessionDep
from server.schemas.users import UserCreate, UserPublic, UserUpdate
from server.security import now_ms
from server.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, _: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in users.list_users(session)]


@router.post("", response_model=UserPublic, status_code=201)
def create_user(session: SessionDep, _: AdminUser, data: UserCreate) -> UserPublic:
    return UserPublic.model_validate(users.create_user(session, data, now_ms()))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(session: SessionDep, _: AdminUser, user_id: Annotated[int, Path(ge=1, le=2**31 - 1)], data: UserUpdate) -> UserPublic:
    return UserPublic.model_validate(users.update_user(session, user_id, data))
