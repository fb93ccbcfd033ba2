"""Server-sent events: the board (one site) or the overview (all visible sites), on every change."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from server.api.deps import TOKEN_COOKIE, CurrentUser, HubDep
from server.security import now_ms
from server.services import board
from server.services.access import require_site, visible_site_ids
from server.services.users import user_for_token

router = APIRouter(tags=["live"])

_SSE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}}, "description": "a stream of `event: board` or `event: overview` messages"}}


@router.get("/live", response_class=StreamingResponse, responses=_SSE_RESPONSE)
async def live(request: Request, user: CurrentUser, hub: HubDep, site_id: str | None = None) -> StreamingResponse:
    """Without site_id: the overview whenever any visible site changes. With it: that site's board."""
    if site_id is not None:
        require_site(user, site_id)
        watched: set[str] | None = {site_id}
    else:
        watched = visible_site_ids(user)
    sessions = request.app.state.sessions
    keepalive = request.app.state.settings.live_keepalive_s
    # Streams in this process watching the same thing share one read per change (a wall of
    # screens on one site costs one query, not one per screen).
    snapshots: dict[tuple, tuple[tuple, str]] = request.app.state.live_snapshots
    cache_key = ("board", site_id) if site_id is not None else ("overview", frozenset(watched) if watched is not None else None)
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE, "")

    def snapshot(seen: tuple[int, dict[str, int]]) -> str | None:
        version = (seen[1].get(site_id, 0),) if site_id is not None else (seen[0],)
        with sessions() as session:
            # A stream lives for hours: it ends when its token expires or is revoked.
            if user_for_token(session, token, now_ms()) is None:
                return None
            cached = snapshots.get(cache_key)
            if cached is not None and cached[0] == version:
                return cached[1]
            if site_id is not None:
                message = "event: board\ndata: " + board.site_board(session, site_id, now_ms()).model_dump_json() + "\n\n"
            else:
                message = "event: overview\ndata: " + board.overview(session, watched, now_ms()).model_dump_json() + "\n\n"
        snapshots[cache_key] = (version, message)
        return message

    def token_valid() -> bool:
        with sessions() as session:
            return user_for_token(session, token, now_ms()) is not None

    async def stream() -> AsyncIterator[str]:
        while True:
            seen = hub.counters()  # taken before reading, so a change during the read is not missed
            message = await run_in_threadpool(snapshot, seen)
            if message is None:
                yield "event: expired\ndata: {}\n\n"
                return
            yield message
            while not await hub.wait_for_change(watched, seen, keepalive):
                if await run_in_threadpool(token_valid) is False:
                    yield "event: expired\ndata: {}\n\n"
                    return
                yield ": keepalive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
