"""Which language a page is in: the user's stored choice, else the language cookie, else
Accept-Language, else Simplified Chinese. The switch on every page stores the choice."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import update
from sqlalchemy.orm import Session

from server.db import begin_write
from server.i18n import DEFAULT_LOCALE, LOCALES, negotiate, normalize
from server.models import User

# Remembers the choice of someone not logged in (the login page) and survives log-out.
LANGUAGE_COOKIE = "custody_lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


def request_locale(request: Request, user: User | None) -> str:
    if user is not None and user.locale in LOCALES:
        return user.locale
    return (
        normalize(request.cookies.get(LANGUAGE_COOKIE))
        or negotiate(request.headers.get("accept-language"))
        or DEFAULT_LOCALE
    )


def store_user_locale(session: Session, user_id: int, locale: str) -> None:
    """One transaction: the user's pages are in `locale` from now on, on any device."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    begin_write(session)
    session.execute(update(User).where(User.id == user_id).values(locale=locale))
    session.commit()
