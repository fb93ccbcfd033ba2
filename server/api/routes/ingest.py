"""What gateways call: batch ingest, resume point, site descriptor. See docs/uplink.md."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core_ext.chain import GENESIS_HASH
from server.api.deps import CurrentGateway, SessionDep
from server.schemas import uplink
from server.schemas.sites import GatewayState, SiteDescriptor, SitePublic
from server.security import now_ms
from server.services import sites
from server.services.ingest import ChainConflict, SeqGap, ingest_batch, stored_hash

router = APIRouter(tags=["gateway uplink"])


class IngestResponse(BaseModel):
    stored: int
    duplicates: int
    last_seq: int


class IngestConflict(BaseModel):
    detail: str
    conflict: Literal["gap", "chain"] = Field(description="gap: resend from expected_seq; chain: the batch contradicts the chain")
    expected_seq: int | None = Field(None, description="with conflict gap: the seq to resend from")
    seq: int | None = Field(None, description="with conflict chain: the first seq at fault")


INGEST_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestBatch"}}},
    }
}


@router.post(
    "/ingest",
    response_model=IngestResponse,
    openapi_extra=INGEST_OPENAPI,
    responses={
        403: {"description": "batch names another gateway or another site than the credential's"},
        409: {"model": IngestConflict, "description": "first new entry is not last_seq + 1 (gap), or the batch "
                                                      "contradicts the gateway's hash chain or a signature (chain)"},
        413: {"description": "more entries or bytes than the server's limits"},
        422: {"description": "malformed; `detail[0].field` names the field, e.g. entries[3].body.ts"},
    },
)
async def ingest(request: Request, gateway: CurrentGateway) -> IngestResponse | JSONResponse:
    """Store a batch of journal entries atomically; replayed entries are acknowledged, not stored again."""
    settings = request.app.state.settings
    raw = await _read_limited(request, settings.ingest_max_bytes)
    try:
        # Decoding a large batch takes milliseconds: off the event loop, like the database work.
        batch, entries = await run_in_threadpool(uplink.decode_batch, raw, settings.ingest_max_entries)
    except uplink.TooManyEntries as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=str(exc)) from exc
    except uplink.BatchError as exc:
        return JSONResponse(
            status_code=422,
            content={"detail": [{"field": exc.field, "loc": _loc(exc.field), "msg": exc.message, "type": "value_error"}]},
        )
    if batch.gateway_id != gateway.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"credential belongs to gateway {gateway.id!r}, batch says {batch.gateway_id!r}")
    if batch.site_id != gateway.site_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"gateway {gateway.id!r} is bound to site {gateway.site_id!r}, not {batch.site_id!r}")

    def store():
        with request.app.state.sessions() as session:
            return ingest_batch(session, gateway.id, gateway.site_id, entries, now_ms())

    try:
        result = await run_in_threadpool(store)
    except SeqGap as gap:
        return JSONResponse(
            status_code=409,
            content={"detail": f"out of order: {gap}; resend from expected_seq", "conflict": "gap",
                     "expected_seq": gap.expected_seq},
        )
    except ChainConflict as conflict:
        return JSONResponse(
            status_code=409,
            content={"detail": f"chain conflict at {conflict}; nothing of the batch was stored", "conflict": "chain",
                     "seq": conflict.seq},
        )
    return IngestResponse(stored=result.stored, duplicates=result.duplicates, last_seq=result.last_seq)


def _loc(field: str) -> list[str | int]:
    """entries[3].body.ts -> ["body", "entries", 3, "body", "ts"], FastAPI's shape of a location."""
    parts = [p for p in field.replace("[", ".").replace("]", "").split(".") if p]
    return ["body", *(int(p) if p.isdigit() else p for p in parts)]


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body of {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body over the limit of {limit} bytes")
    return bytes(body)


@router.get("/gateway/state", response_model=GatewayState)
def gateway_state(session: SessionDep, gateway: CurrentGateway) -> GatewayState:
    """Where the server's copy of this gateway's journal ends: resume the uplink at last_seq + 1."""
    last_hash = gateway.last_hash or (GENESIS_HASH if gateway.last_seq == 0 else stored_hash(session, gateway.id, gateway.last_seq))
    return GatewayState(gateway_id=gateway.id, site_id=gateway.site_id, last_seq=gateway.last_seq, last_hash=last_hash)


@router.put("/sites/{site_id}/descriptor", response_model=SitePublic)
def put_descriptor(session: SessionDep, gateway: CurrentGateway, site_id: str, descriptor: SiteDescriptor) -> SitePublic:
    """The gateway describes its site (zones with type and cameras, lockers, doors); replaces the last one."""
    return SitePublic.model_validate(sites.put_descriptor(session, gateway, site_id, descriptor, now_ms()))
