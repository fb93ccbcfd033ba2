"""The center's web pages. Unauthenticated requests get the login form with status 401."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from server.api.deps import TOKEN_COOKIE, user_from_request
from server.api.login_check import LoginRefused, check_login
from server.client_info import request_is_https
from server.i18n import normalize
from server.models import User
from server.security import now_ms
from server.services import sites, trails, users
from server.services.access import has_capability, require_capability, require_site
from server.web.floorplan import playback_context
from server.web.language import COOKIE_MAX_AGE_S, LANGUAGE_COOKIE, request_locale, store_user_locale
from server.web.timeline import build_timeline

router = APIRouter(include_in_schema=False)


def _path_with_query(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _local_target(next_url: str) -> str:
    """Only local paths: a form's `next` must not become an open redirect."""
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"


def _render(request: Request, template: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(user=user, can=(lambda cap: user is not None and has_capability(user, cap)), now_ts=now_ms(),
                   here=_path_with_query(request))
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code,
                                                        locale=request_locale(request, user))


def _login_page(request: Request, status_code: int = 401, error: str | None = None) -> HTMLResponse:
    return _render(request, "login.html", None, status_code=status_code, next_url=_path_with_query(request),
                   error=error)


def _user(request: Request) -> User | None:
    header = request.headers.get("authorization", "")
    return user_from_request(request, header[7:] if header.lower().startswith("bearer ") else None)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the query name
    return _render(request, "login.html", None, next_url=next, error=None)


@router.post("/login")
async def login_submit(
    request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()], next: Annotated[str, Form()] = "/"  # noqa: A002
) -> Response:
    settings = request.app.state.settings
    try:
        user = await check_login(request, username, password)
    except LoginRefused as refused:
        if refused.status == 400:
            return _render(request, "login.html", None, status_code=401, next_url=next, error="bad_credentials")
        page = _render(request, "login.html", None, status_code=refused.status, next_url=next, error="throttled",
                       retry_after=refused.retry_after)
        page.headers.update(refused.headers)
        return page

    def issue() -> str:
        with request.app.state.sessions() as session:
            return users.issue_token(session, user, now_ms(), settings.token_ttl_s)[0]

    token = await run_in_threadpool(issue)
    response = RedirectResponse(_local_target(next), status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, max_age=settings.token_ttl_s, httponly=True, samesite="strict",
                        secure=_secure_cookie(request), path="/")
    return response


def _secure_cookie(request: Request) -> bool:
    """Secure whenever the request came over HTTPS (a trusted proxy's X-Forwarded-Proto included)."""
    return request.app.state.settings.cookie_secure or request_is_https(request)


@router.post("/language")
def switch_language(
    request: Request, locale: Annotated[str, Form()], next: Annotated[str, Form()] = "/"  # noqa: A002
) -> Response:
    """The language switch: stored for the logged-in user, and in a cookie for the login page."""
    chosen = normalize(locale)
    if chosen is None:
        return JSONResponse(status_code=422, content={"detail": [{
            "loc": ["body", "locale"], "msg": f"unsupported language {locale!r}: use zh-CN or en", "type": "value_error"}]})
    user = _user(request)
    if user is not None:
        with request.app.state.sessions() as session:
            store_user_locale(session, user.id, chosen)
    response = RedirectResponse(_local_target(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=_secure_cookie(request), path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if _user(request) is None:
        return _login_page(request)
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        with request.app.state.sessions() as session:
            users.revoke_token(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    user = _user(request)
    if user is None:
        return _login_page(request)
    return _render(request, "overview.html", user)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request) -> HTMLResponse:
    user = _user(request)
    if user is None:
        return _login_page(request)
    with request.app.state.sessions() as session:
        visible = sites.list_sites(session, user)
    return _render(request, "alerts.html", user, sites=visible, timezones={s.id: s.timezone for s in visible})


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def board_page(request: Request, site_id: str) -> HTMLResponse:
    user = _user(request)
    if user is None:
        return _login_page(request)
    require_site(user, site_id)
    with request.app.state.sessions() as session:
        site = sites.get_site(session, site_id)
    return _render(request, "board.html", user, site=site)


def _trail_context(request: Request, site_id: str, person: str) -> tuple[User | None, dict[str, Any]]:
    user = _user(request)
    if user is None:
        return None, {}
    require_site(user, site_id)
    require_capability(user, "subjects")
    with request.app.state.sessions() as session:
        trail = trails.subject_trail(session, site_id, person)
        plan = sites.site_plan(session, sites.get_site(session, site_id))
    now = now_ms()
    return user, {"trail": trail, "timeline": build_timeline(trail, now), **playback_context(plan, trail, now)}


@router.get("/sites/{site_id}/subjects/{person}", response_class=HTMLResponse)
def trail_page(request: Request, site_id: str, person: str) -> HTMLResponse:
    user, context = _trail_context(request, site_id, person)
    if user is None:
        return _login_page(request)
    return _render(request, "trail.html", user, report_url=f"/sites/{quote(site_id)}/subjects/{quote(person)}/report", **context)


@router.get("/sites/{site_id}/subjects/{person}/report", response_class=HTMLResponse)
def report_page(request: Request, site_id: str, person: str) -> HTMLResponse:
    user, context = _trail_context(request, site_id, person)
    if user is None:
        return _login_page(request)
    return _render(request, "report.html", user, **context)


@router.get("/sites/{site_id}/items", response_class=HTMLResponse)
def ledger_page(request: Request, site_id: str) -> HTMLResponse:
    user = _user(request)
    if user is None:
        return _login_page(request)
    require_site(user, site_id)
    require_capability(user, "items")
    with request.app.state.sessions() as session:
        site = sites.get_site(session, site_id)
        items = trails.list_items(session, site_id)
    return _render(request, "items.html", user, site=site, items=items)


@router.get("/sites/{site_id}/items/{item}", response_class=HTMLResponse)
def item_page(request: Request, site_id: str, item: str) -> HTMLResponse:
    user = _user(request)
    if user is None:
        return _login_page(request)
    require_site(user, site_id)
    require_capability(user, "items")
    with request.app.state.sessions() as session:
        site = sites.get_site(session, site_id)
        trail = trails.item_trail(session, site_id, item)
    return _render(request, "item.html", user, site=site, trail=trail)
