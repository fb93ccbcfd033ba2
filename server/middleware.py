"""ASGI middleware: security headers on every answer, and a body limit on every route but ingest.

Both are plain ASGI (no BaseHTTPMiddleware): they add no task per request and never buffer a body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Scripts and styles only from this origin: data that reaches a page can never run as script,
# and no other site may frame the pages (clickjacking the acknowledge and resolve buttons).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load their viewers from a CDN with an inline bootstrap script; they
# show the OpenAPI document, never data from gateways.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope["path"] in DOCS_PATHS else PAGE_CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in _COMMON if name not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException, so FastAPI answers it as is (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"request body over the limit of {limit} bytes")


class BadRequest(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(400, detail=detail)


# NUL in a URL or a body: PostgreSQL text cannot hold it, and no field of ours needs it.
def _has_nul(data: bytes, urlencoded: bool = True) -> bool:
    return b"\x00" in data or b"\\u0000" in data or (urlencoded and b"%00" in data)


class BodyLimit:
    """Every route but `exempt` (the ingest, which has its own larger limit and checks) refuses
    bodies over `limit` bytes: by Content-Length before anything is read, else as the chunks
    arrive. It also refuses a NUL character (raw, %00 or \\u0000) in the URL or the body (400)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: frozenset[str]) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope.get("raw_path") or b"") or _has_nul(scope.get("query_string") or b""):
            await _refuse(send, "NUL character in the URL", 400)
            return
        if scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await _refuse(send, f"request body of {value.decode('latin-1')[:20]} bytes; the limit is {limit}")
                    return
        received = 0
        started = False
        tail = b""
        form = any(
            name == b"content-type" and value.startswith(b"application/x-www-form-urlencoded")
            for name, value in scope.get("headers", ())
        )

        async def limited() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
                if _has_nul(tail + chunk, urlencoded=form):
                    raise BadRequest("NUL character in the request body")
                tail = chunk[-5:]
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except (BodyTooLarge, BadRequest) as exc:
            if started:
                raise
            await _refuse(send, str(exc.detail), exc.status_code)


async def _refuse(send: Send, detail: str, status: int = 413) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
