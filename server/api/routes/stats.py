"""GET /api/v1/stats: the supervision figures (DESIGN §6.4), scoped like every read."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from server.api.deps import CurrentUser, SessionDep
from server.schemas.stats import StatsResponse
from server.schemas.uplink_bodies import MAX_TS_MS
from server.security import now_ms
from server.services import stats as stats_service

router = APIRouter(tags=["stats"])


@router.get("/stats", response_model=StatsResponse, responses={422: {"description": "bad window: `field` names it"}},
            description=stats_service.__doc__)
def read_stats(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[int, Query(alias="from", ge=0, le=MAX_TS_MS, description="window start, epoch ms (inclusive)")],
    to: Annotated[int, Query(ge=0, le=MAX_TS_MS, description="window end, epoch ms (exclusive)")],
    site_id: Annotated[str | None, Query(description="one site (404 when not visible to the caller)")] = None,
    group_by: Annotated[stats_service.GroupBy | None, Query(description="day: per site-local day; officer: per officer")] = None,
) -> JSONResponse:
    """The supervision figures of the sites the caller may see, for events with ts in [from, to)."""
    try:
        body = stats_service.stats(session, user, from_, to, now_ms(), site_id, group_by)
    except stats_service.StatsError as exc:
        raise HTTPException(422, detail=[{
            "field": exc.field, "loc": ["query", exc.field], "msg": exc.message, "type": "value_error"}]) from exc
    return JSONResponse(body)
