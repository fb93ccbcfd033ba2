"""Who is at the desk: log-in (throttled), log-out, and the one dependency every route's user comes from.

    auth = DeskAuth(staff)
    current_user = auth.current_user                 # Depends(current_user) -> Session
    auth.install(app)                                # /desk/v1/login, /desk/v1/logout, the body limit

`current_user` re-checks the token's account against the staff file on every request
(gateway/desk/staff.py): a removed or disabled account, or one with a new password, gets 401 at
once; a changed role applies at once. It also enforces that staff record only as themselves: a
JSON body whose `by` names anyone but the logged-in user is refused with 403,
`detail[0].loc` naming the field (`require_by_matches` does the same for a value a route takes
from elsewhere). Routes added later pick both up by depending on `current_user` (directly or
through the role checks in api.py).

Log-ins are throttled per account and per client address with exponential backoff
(core_ext/throttle.py, shared with the center): 429 with Retry-After.
"""
# No `from __future__ import annotations`: FastAPI must see the closures' Depends(bearer) objects.

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from core_ext.i18n import DEFAULT_LOCALE, negotiate
from core_ext.throttle import LoginThrottle, Throttle
from gateway.desk import messages as msg
from gateway.desk import staff as accounts
from gateway.desk.staff import Session, StaffError, StaffStore

# The body field that names who does what is recorded: it must be the logged-in user. (`requested_by`
# and `approved_by` name other people on purpose: the investigator who asked, the approver.)
BY_FIELDS = ("by",)
BODY_LIMIT = 1024 * 1024            # bytes; larger request bodies get 413 before they are read


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class LoginAnswer(BaseModel):
    token: str
    username: str
    role: str
    expires_at: float


def desk_login_throttle() -> LoginThrottle:
    """A few free failures per account, more per address (a shared desk PC), then 1 s doubling to 5 min."""
    return LoginThrottle(Throttle(free_failures=5, base_s=1.0, max_s=300.0),
                         Throttle(free_failures=20, base_s=1.0, max_s=300.0))


_REVOKED = {
    accounts.UNKNOWN_TOKEN: msg.NOT_LOGGED_IN,
    accounts.EXPIRED: msg.NOT_LOGGED_IN,
    accounts.ACCOUNT_REMOVED: msg.ACCOUNT_GONE,
    accounts.ACCOUNT_DISABLED: msg.ACCOUNT_GONE,
    accounts.PASSWORD_CHANGED: msg.PASSWORD_CHANGED,
}


class DeskAuth:
    def __init__(self, staff: StaffStore, throttle: LoginThrottle | None = None) -> None:
        self.staff = staff
        self.throttle = throttle or desk_login_throttle()
        bearer = HTTPBearer(auto_error=False)
        self.bearer = bearer

        async def current_user(request: Request,
                               creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Session:
            """The logged-in user, re-checked against the staff file; a `by` in the body must be them."""
            locale = msg.desk_locale(request)
            if creds is None:
                raise _unauthorized(msg.text(locale, msg.NOT_LOGGED_IN))
            try:
                session, reason = staff.resolve(creds.credentials)
            except StaffError as exc:
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                    detail=msg.text(locale, msg.STAFF_UNREADABLE, reason=exc)) from exc
            if session is None:
                raise _unauthorized(msg.text(locale, _REVOKED.get(reason or "", msg.NOT_LOGGED_IN)))
            await _check_body_by(request, session, locale)
            return session

        self.current_user = current_user

    def require_by_matches(self, who: Session, request: Request, value: str | None, field: str = "by") -> None:
        """For a route that takes who-recorded from elsewhere than the JSON body (a query, a form)."""
        if value is not None and value != who.username:
            raise _not_you(msg.desk_locale(request), who, field)

    def install(self, app: FastAPI) -> None:
        staff, throttle, current_user, bearer = self.staff, self.throttle, self.current_user, self.bearer
        app.add_middleware(BodyLimit, limit=BODY_LIMIT)

        @app.post("/desk/v1/login", response_model=LoginAnswer, responses={
            401: {"description": "unknown username, wrong password or disabled account"},
            429: {"description": "too many failed log-ins for this account or from this address; see Retry-After"}})
        def login(body: LoginRequest, request: Request) -> LoginAnswer:
            locale = msg.desk_locale(request)
            address = request.client.host if request.client is not None else "unknown"
            wait = throttle.begin(body.username, address)
            if wait:
                raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)},
                                    detail=msg.text(locale, msg.TOO_MANY_LOGINS, seconds=wait))
            ok: bool | None = None
            try:
                found = staff.login(body.username, body.password)
                ok = found is not None
            finally:
                throttle.finish(body.username, address, ok)
            if found is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=msg.text(locale, msg.BAD_LOGIN))
            token, session = found
            return LoginAnswer(token=token, username=session.username, role=session.role,
                               expires_at=session.expires_at)

        @app.post("/desk/v1/logout", status_code=204, response_class=Response,
                  responses={401: {"description": "not logged in (or the session ended already)"}})
        def logout(who: Annotated[Session, Depends(current_user)],
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Response:
            """End this token's session (other devices of the same user stay logged in)."""
            assert creds is not None  # current_user refused a request without one
            staff.logout(creds.credentials)
            return Response(status_code=204)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _not_you(locale: str, who: Session, field: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=[{
        "loc": ["body", field], "type": "not_the_logged_in_user",
        "msg": msg.text(locale, msg.BY_NOT_YOU, field=field, user=who.username)}])


async def _check_body_by(request: Request, who: Session, locale: str) -> None:
    if request.method not in ("POST", "PUT", "PATCH") or "json" not in request.headers.get("content-type", ""):
        return
    raw = await request.body()  # already read by FastAPI for the route's model: served from memory
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return  # the route's own validation answers 422 for it
    if not isinstance(data, dict):
        return
    for field in BY_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value != who.username:
            raise _not_you(locale, who, field)


# ---- the body limit (plain ASGI: nothing is buffered, no task per request) ---------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(HTTPException):
    """Raised while the route reads the body; an HTTPException, so FastAPI answers it as is (413)."""

    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail=detail)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413: by Content-Length before reading, else
    as the chunks arrive."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        locale = negotiate((headers.get(b"accept-language") or b"").decode("latin-1")) or DEFAULT_LOCALE
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send, locale)
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge(msg.text(locale, msg.BODY_TOO_LARGE, limit=self.limit))
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if started:
                raise
            await self._refuse(send, locale)

    async def _refuse(self, send: Send, locale: str) -> None:
        body = json.dumps({"detail": msg.text(locale, msg.BODY_TOO_LARGE, limit=self.limit)},
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
