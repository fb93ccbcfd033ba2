"""Users, password log-in and bearer tokens."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from server.db import begin_write
from server.models import AuthToken, Site, User
from server.schemas.users import UserCreate, UserUpdate
from server.security import TOKEN_PREFIX, PasswordWork, hash_password, new_secret, secret_digest, verify_password
from server.services.errors import Conflict, NotFound

# Verifying against a real hash when the user does not exist keeps log-in time the same,
# so timing does not reveal which usernames exist.
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


def create_user(session: Session, data: UserCreate, now: int) -> User:
    begin_write(session)
    if data.site_id is not None and session.get(Site, data.site_id) is None:
        raise NotFound(f"site {data.site_id!r} not found")
    if session.execute(select(User.id).where(User.username == data.username)).first():
        raise Conflict(f"username {data.username!r} is taken")
    user = User(
        username=data.username,
        full_name=data.full_name,
        password_hash=hash_password(data.password),
        role=data.role.value,
        site_id=data.site_id,
        active=True,
        created_ts=now,
    )
    session.add(user)
    session.commit()
    return user


def update_user(session: Session, user_id: int, data: UserUpdate) -> User:
    begin_write(session)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if data.full_name is not None:
        user.full_name = data.full_name
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    if data.active is not None:
        user.active = data.active
        if not data.active:
            session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    session.commit()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.username)).scalars())


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


def issue_token(session: Session, user: User, now: int, ttl_s: int) -> tuple[str, int]:
    begin_write(session)
    token = new_secret(TOKEN_PREFIX)
    expires = now + ttl_s * 1000
    session.execute(delete(AuthToken).where(AuthToken.user_id == user.id, AuthToken.expires_ts <= now))
    session.add(AuthToken(token_hash=secret_digest(token), user_id=user.id, created_ts=now, expires_ts=expires))
    session.commit()
    return token, expires


def user_for_token(session: Session, token: str, now: int) -> User | None:
    row = session.execute(
        select(User, AuthToken.expires_ts)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(AuthToken.token_hash == secret_digest(token))
    ).first()
    if row is None:
        return None
    user, expires = row
    if expires <= now or not user.active:
        return None
    return user


def revoke_token(session: Session, token: str) -> None:
    begin_write(session)
    session.execute(delete(AuthToken).where(AuthToken.token_hash == secret_digest(token)))
    session.commit()


async def authenticate_async(
    sessions: sessionmaker[Session], work: PasswordWork, username: str, password: str
) -> User | None:
    """authenticate() for log-in routes: the look-up on the request pool, argon2 on `work`'s threads."""

    def lookup() -> User | None:
        with sessions() as session:
            return session.execute(select(User).where(User.username == username)).scalar_one_or_none()

    user = await run_in_threadpool(lookup)
    ok = await work.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        return None
    return user
