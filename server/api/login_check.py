"""The one log-in check behind the API's token route and the `/login` page: throttled per account
and per client address (core_ext/throttle.py), argon2 on its own bounded threads."""
from __future__ import annotations

from fastapi import Request

from core_ext.throttle import LoginThrottle, Throttle
from server.client_info import client_address
from server.models import User
from server.security import PasswordQueueFull, PasswordWork
from server.services.users import authenticate_async
from server.settings import ServerSettings


class LoginRefused(Exception):
    """status 429 (throttled), 503 (password checks queue full) or 400/401 (wrong credentials)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def make_login_throttle(settings: ServerSettings) -> LoginThrottle:
    return LoginThrottle(
        Throttle(settings.login_free_failures_account, settings.login_backoff_base_s, settings.login_backoff_max_s),
        Throttle(settings.login_free_failures_address, settings.login_backoff_base_s, settings.login_backoff_max_s),
        address_parallel=settings.login_parallel_per_address,
    )


def make_password_work(settings: ServerSettings) -> PasswordWork:
    return PasswordWork(settings.password_workers, settings.password_queue_max)


async def check_login(request: Request, username: str, password: str) -> User:
    """The user, or LoginRefused saying why (the wrong-credentials status is the caller's to choose)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.begin(username, address)
    if wait:
        raise LoginRefused(429, f"too many failed log-ins: try again in {wait} s", wait)
    user = None
    try:
        user = await authenticate_async(request.app.state.sessions, request.app.state.password_work, username, password)
    except PasswordQueueFull as exc:
        throttle.finish(username, address, ok=None)  # not the caller's failure: count nothing
        raise LoginRefused(503, f"busy checking passwords ({exc}): try again shortly", 1) from exc
    except BaseException:
        throttle.finish(username, address, ok=None)
        raise
    throttle.finish(username, address, ok=user is not None)
    if user is None:
        raise LoginRefused(400, "incorrect username or password")
    return user
