"""Server-sent events: the board (one site) or the overview (all visible sites), on every change."""
from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from server.api.deps import CurrentUser, HubDep
from server.security import now_ms
from server.services import board
from server.services.access import require_site, visible_site_ids

router = APIRouter(tags=["live"])

_SSE_RESPONSE = {200: {"content": {"text/event-stream": {}}, "description": "a stream of `event: board` or `event: overview` messages"}}


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

    def snapshot() -> str:
        with sessions() as session:
            if site_id is not None:
                return "event: board\ndata: " + board.site_board(session, site_id, now_ms()).model_dump_json() + "\n\n"
            return "event: overview\ndata: " + board.overview(session, watched, now_ms()).model_dump_json() + "\n\n"

    async def stream() -> AsyncIterator[str]:
        while True:
            seen = hub.counters()  # taken before reading, so a change during the read is not missed
            yield await run_in_threadpool(snapshot)
            while not await hub.wait_for_change(watched, seen, keepalive):
                yield ": keepalive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
