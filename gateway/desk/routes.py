"""The desk API routes the consoles use beyond the first release's: the second layer of the law
(DESIGN §6.2 "Second layer": guardians, temporary exits, decisions, welfare, seizures), work orders
requested by one user and approved by another, opening a locker slot (DESIGN §6.5), what the
consoles read (site, everyone in the area, the ledger) and their live feed.

Every write is one §6.2 event, journaled before it is answered (`record`); a refusal is a 4xx
naming the field, in the caller's language, and journals nothing.
"""

# No `from __future__ import annotations`: the routes are defined inside install() and FastAPI
# must see their dependency annotations (local names) as objects, not strings.
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from core_ext import vocab
from drivers.base import DeviceError
from gateway.desk import messages as msg
from gateway.desk.api import WRITE_RESPONSES, Id, Ms, Problem, Recorded, _Request
from gateway.desk.checks import SELF_APPROVAL, SLOT_NOT_COVERED
from gateway.desk.feed import LiveFeed
from gateway.desk.orders import RequestStoreError, WorkOrderRequests
from gateway.desk.staff import Session
from gateway.desk.view import DeskView
from gateway.engine_task import EngineRunner

log = logging.getLogger("gateway.desk")


if TYPE_CHECKING:  # mypy sees plain strings; pydantic sees the Literals built from the vocabulary
    Sex: TypeAlias = str
    LeaveReason: TypeAlias = str
    DecisionKind: TypeAlias = str
    WelfareKind: TypeAlias = str
    WorkOrderAction: TypeAlias = str
else:
    Sex = vocab.one_of(vocab.SEXES)
    LeaveReason = vocab.one_of(vocab.LEAVE_REASONS)
    DecisionKind = vocab.one_of(vocab.DECISION_KINDS)
    WelfareKind = vocab.one_of(vocab.WELFARE_KINDS)
    WorkOrderAction = vocab.one_of(vocab.WORKORDER_ACTIONS)


@dataclass
class DeskContext:
    runner: EngineRunner
    site: Any  # the SiteConfig
    feed: LiveFeed | None = None
    requests: WorkOrderRequests | None = None
    lock_board: Callable[[str, int], Any] = lambda bank, slot: None  # the driver of a slot, or None

    @property
    def view(self) -> DeskView:
        view = self.runner.status.view  # the runner may have swapped its status on resume
        if view is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the desk view is not running")
        return view


def install(
    app: FastAPI,
    ctx: DeskContext,
    record: Callable[[dict[str, Any], Request], Awaitable[Any]],
    person_staff: Callable[..., Any],
    property_staff: Callable[..., Any],
    any_staff: Callable[..., Any],
) -> None:
    """Adds the routes to `app`, guarded by api.py's own auth dependencies (desk staff, property
    staff, any logged-in staff), so a change to desk authentication applies here too."""
    PersonStaff = Annotated[Session, Depends(person_staff)]
    PropertyStaff = Annotated[Session, Depends(property_staff)]
    AnyStaff = Annotated[Session, Depends(any_staff)]

    class GuardianRequest(_Request):
        person: Id
        sex: Sex
        tag: Id
        for_: Id = Field(alias="for", description="the subject this guardian (法定代理人/合适成年人) accompanies")

    class LeaveRequest(_Request):
        person: Id
        reason: LeaveReason
        until_ts: Ms = Field(description="approved return time")
        approved_by: Id

    class PersonRequest(_Request):
        person: Id

    class DecisionRequest(_Request):
        person: Id
        kind: DecisionKind

    class WelfareRequest(_Request):
        person: Id
        kind: WelfareKind

    class SeizureRequest(_Request):
        item: Id
        case: Id
        by: Id | None = Field(None, description="the seizing officer; default the logged-in user")
        seized_ts: Ms | None = Field(None, description="defaults to now")

    class OrderRequest(_Request):
        id: Id | None = None
        item: Id
        action: WorkOrderAction
        bank: Id
        slot: int = Field(ge=1)
        valid_from: Ms | None = None
        valid_until: Ms | None = None
        due_ts: Ms | None = None

    def now() -> int:
        return ctx.runner.clock.now()

    # ---- what the consoles read --------------------------------------------------------------------

    @app.get("/desk/v1/me")
    def me(who: AnyStaff) -> dict[str, Any]:
        return {"username": who.username, "role": who.role}

    @app.get("/desk/v1/site")
    def site_info(who: AnyStaff) -> dict[str, Any]:
        """The site as the consoles need it: zones, readers (which bind tags), banks, rules, vocabulary."""
        site = ctx.site
        zone_type = {z.id: z.type for z in site.zones}
        view = ctx.view
        return {
            "id": site.site.id,
            "name": site.site.name or site.site.id,
            "kind": site.site.kind,
            "timezone": site.site.timezone,
            "now": now(),
            "zones": [{"id": z.id, "type": z.type, "name": z.name or None} for z in site.zones],
            "readers": [{"id": r.id, "zone": r.zone, "enrolment": r.enrolment} for r in site.readers],
            "banks": [
                {"id": b.id, "slots": b.slots, "zone": b.zone, "zone_type": zone_type.get(b.zone) if b.zone else None}
                for b in site.lockers
            ],
            "rules": {
                "warn_before_ms": view.facts.warn_before_ms,
                "meal_interval_ms": view.facts.meal_interval_ms,
                "transfer_limit_ms": view.facts.transfer_limit_ms,
                "intake_within_ms": view.facts.intake_within_ms,
                "requires_approval": view.facts.requires_approval,
            },
            "tiers_h": {
                b: [t / 3_600_000 for t in ctx.runner.engine.site.basis_tiers_ms[i]] for i, b in enumerate(vocab.BASES)
            },
            "vocab": {
                "subject_roles": vocab.SUBJECT_ROLES,
                "staff_roles": vocab.STAFF_ROLES,
                "sexes": vocab.SEXES,
                "bases": vocab.BASES,
                "outcomes": vocab.OUTCOMES,
                "belongings": vocab.BELONGINGS,
                "leave_reasons": vocab.LEAVE_REASONS,
                "decision_kinds": vocab.DECISION_KINDS,
                "welfare_kinds": vocab.WELFARE_KINDS,
                "workorder_actions": vocab.WORKORDER_ACTIONS,
            },
        }

    @app.get("/desk/v1/persons")
    def persons(who: AnyStaff) -> dict[str, Any]:
        """Everyone checked in: where, with whom, limits, flags, open alerts."""
        return {"now": now(), "persons": ctx.view.persons()}

    @app.get("/desk/v1/people")
    def people(who: AnyStaff) -> dict[str, Any]:
        """Enrolled staff and guardians, with where they are now."""
        view = ctx.view
        return {"people": [{**p, "zone": view.where.get(name)} for name, p in sorted(view.people.items())]}

    @app.get("/desk/v1/ledger")
    def ledger(who: AnyStaff) -> dict[str, Any]:
        """The property ledger per bank and slot, items out, overdue, seizures awaiting intake, orders."""
        at = now()
        body = ctx.view.ledger(at)
        for bank in body["banks"]:
            for slot in bank["slots"]:
                board = ctx.lock_board(bank["id"], slot["slot"])
                slot["board"] = None if board is None else {"id": board.id, "online": bool(board.health.connected)}
        body["requests"] = ctx.requests.all() if ctx.requests is not None else []
        body["now"] = at
        return body

    @app.get("/desk/v1/intake-slot", responses={422: {"model": Problem, "description": "unknown bank"}})
    def propose_slot(
        who: AnyStaff,
        request: Request,
        owner: bool = Query(False, description="belongings of a subject"),
        bank: str | None = Query(None, max_length=128),
    ) -> dict[str, Any]:
        """An empty slot of the right bank for an intake (belongings banks for a subject's belongings)."""
        view = ctx.view
        banks = [bank] if bank else view.banks_for(owner)
        for candidate in banks:
            if candidate not in view.facts.banks:
                raise HTTPException(
                    422,
                    detail=[
                        {
                            "loc": ["query", "bank"],
                            "type": "value_error",
                            "msg": msg.text(msg.desk_locale(request), msg.UNKNOWN_BANK, bank=candidate),
                        }
                    ],
                )
            slot = view.empty_slot(candidate)
            if slot is not None:
                return {"bank": candidate, "slot": slot}
        return {"bank": None, "slot": None}

    @app.get(
        "/desk/v1/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
    )
    def stream(who: AnyStaff) -> StreamingResponse:
        """Server-sent events: `changed` (persons/ledger to reload, slot doors) and `enrolment_read`
        (a tag read at an enrolment reader)."""
        if ctx.feed is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no live feed")
        return StreamingResponse(
            ctx.feed.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # ---- second layer: people ------------------------------------------------------------------------

    @app.post("/desk/v1/guardians", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def enroll_guardian(body: GuardianRequest, who: PersonStaff, request: Request) -> Any:
        """Enrol a guardian (法定代理人 or 合适成年人) of a subject with their tag (CPL art. 281)."""
        event = {
            "type": "enroll",
            "person": body.person,
            "role": "guardian",
            "sex": body.sex,
            "tag": body.tag,
            "for": body.for_,
        }
        return await record(event, request)

    @app.post("/desk/v1/leaves", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def leave(body: LeaveRequest, who: PersonStaff, request: Request) -> Any:
        """A temporary exit (指认现场, 起赃, 就医) with its approver and return time (办案区使用管理规定 art. 4-5)."""
        return await record({"type": "leave", **body.model_dump()}, request)

    @app.post("/desk/v1/returns", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def back(body: PersonRequest, who: PersonStaff, request: Request) -> Any:
        """The subject is back from a temporary exit."""
        return await record({"type": "return", **body.model_dump()}, request)

    @app.post("/desk/v1/decisions", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def decision(body: DecisionRequest, who: PersonStaff, request: Request) -> Any:
        """A detention decision: the summons clock stops, the 24 h transfer clock starts (CPL art. 85)."""
        return await record({"type": "decision", **body.model_dump()}, request)

    @app.post("/desk/v1/welfare", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def welfare(body: WelfareRequest, who: PersonStaff, request: Request) -> Any:
        """A meal, rest, water, toilet or medical check (继续盘问规定 art. 34)."""
        return await record({"type": "welfare", **body.model_dump()}, request)

    @app.post("/desk/v1/seizures", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def seizure(body: SeizureRequest, who: AnyStaff, request: Request) -> Any:
        """An item seized by an officer: it is due in the property room within 24 h."""
        event = {"type": "seizure", **body.model_dump(exclude_none=True)}
        event.setdefault("by", who.username)
        return await record(event, request)

    # ---- work orders: requested by one, approved by another -------------------------------------------

    def refused(request: Request, status_code: int, loc: list[str], template: str, **params: Any) -> JSONResponse:
        return JSONResponse(
            status_code=status_code,
            content={
                "detail": [{"loc": loc, "msg": msg.text(msg.desk_locale(request), template, **params), "type": "state"}]
            },
        )

    @app.get("/desk/v1/workorders/requests")
    def order_requests(who: AnyStaff) -> list[dict[str, Any]]:
        return ctx.requests.all() if ctx.requests is not None else []

    @app.post("/desk/v1/workorders/requests", status_code=201, responses=WRITE_RESPONSES)
    def request_order(body: OrderRequest, who: PropertyStaff, request: Request) -> Any:
        """Ask for a withdrawal, return, release or disposal; a second person approves it."""
        assert ctx.requests is not None
        view = ctx.view
        if body.bank not in view.facts.banks:
            return refused(request, 422, ["body", "bank"], msg.UNKNOWN_BANK, bank=body.bank)
        if body.slot > view.facts.banks[body.bank]:
            return refused(
                request,
                422,
                ["body", "slot"],
                msg.SLOT_RANGE,
                bank=body.bank,
                slots=view.facts.banks[body.bank],
                slot=body.slot,
            )
        if body.id is not None and (body.id in view.orders or ctx.requests.get(body.id) is not None):
            return refused(request, 409, ["body", "id"], msg.ORDER_EXISTS, id=body.id)
        if body.valid_from is not None and body.valid_until is not None and body.valid_until < body.valid_from:
            return refused(request, 422, ["body", "valid_until"], msg.WINDOW_INVERTED)
        wanted = body.model_dump(exclude_none=True)
        try:
            return ctx.requests.add({**wanted, "requested_by": who.username, "requested_ts": now()})
        except RequestStoreError as exc:
            return refused(request, 409, ["body", "id"], msg.NOT_RECORDED, reason=exc)

    @app.post(
        "/desk/v1/workorders/requests/{request_id}/approve",
        status_code=201,
        response_model=Recorded,
        responses={
            **WRITE_RESPONSES,
            404: {"model": Problem, "description": "no such request is waiting"},
            422: {
                "model": Problem,
                "description": "the approver is the requester (approved_by), or the engine refused the order",
            },
        },
    )
    async def approve_order(request_id: str, who: PropertyStaff, request: Request) -> Any:
        """Approve another user's request: the work order is journaled with requested_by and approved_by."""
        assert ctx.requests is not None
        wanted = ctx.requests.get(request_id)
        if wanted is None:
            return refused(request, 404, ["path", "request_id"], msg.NO_REQUEST, id=request_id)
        if wanted["requested_by"] == who.username:
            return refused(request, 422, ["body", "approved_by"], SELF_APPROVAL, requester=who.username)
        at = now()
        valid_from = wanted.get("valid_from", at)
        event = {
            "type": "workorder",
            "id": wanted["id"],
            "item": wanted["item"],
            "action": wanted["action"],
            "bank": wanted["bank"],
            "slot": wanted["slot"],
            "valid_from": valid_from,
            "valid_until": wanted.get("valid_until", valid_from + ctx.view.facts.workorder_window_ms),
            "by": wanted["requested_by"],
            "requested_by": wanted["requested_by"],
            "approved_by": who.username,
        }
        if "due_ts" in wanted:
            event["due_ts"] = wanted["due_ts"]
        answer = await record(event, request)
        if not isinstance(answer, JSONResponse):
            ctx.requests.remove(request_id)
        return answer

    @app.delete(
        "/desk/v1/workorders/requests/{request_id}",
        status_code=204,
        response_model=None,
        response_class=Response,
        responses={404: {"model": Problem, "description": "no such request is waiting"}},
    )
    def cancel_order(request_id: str, who: PropertyStaff, request: Request) -> Response:
        """Withdraw a request before it is approved (nothing was journaled for it)."""
        assert ctx.requests is not None
        if ctx.requests.get(request_id) is None:
            return refused(request, 404, ["path", "request_id"], msg.NO_REQUEST, id=request_id)
        ctx.requests.remove(request_id)
        return Response(status_code=204)

    # ---- opening a slot (DESIGN §6.5) -----------------------------------------------------------------

    @app.post(
        "/desk/v1/slots/{bank}/{slot}/unlock",
        status_code=201,
        response_model=Recorded,
        responses={
            **WRITE_RESPONSES,
            403: {"model": Problem, "description": "the caller's role may not open slots"},
            404: {"model": Problem, "description": "no such bank or slot"},
            409: {
                "model": Problem,
                "description": "nothing covers the slot now, or its lock board is offline or missing",
            },
            502: {"model": Problem, "description": "journaled, but the lock board did not take the command"},
        },
    )
    async def unlock(bank: str, slot: int, who: PropertyStaff, request: Request) -> Any:
        """Open a locker slot: refused unless an intake window or an approved work order covers it now
        and its lock board is online; the `unlock` event is journaled before the board is told."""
        view = ctx.view
        if bank not in view.facts.banks:
            return refused(request, 404, ["path", "bank"], msg.UNKNOWN_BANK, bank=bank)
        if not 1 <= slot <= view.facts.banks[bank]:
            return refused(
                request, 404, ["path", "slot"], msg.SLOT_RANGE, bank=bank, slots=view.facts.banks[bank], slot=slot
            )
        if view.coverage(bank, slot, now()) is None:
            # Said first, as the custodian needs to hear it; the engine task checks it again, in
            # order with everything else, before the unlock is journaled.
            return refused(request, 409, ["path", "slot"], SLOT_NOT_COVERED, slot=f"{bank}/{slot}")
        board = ctx.lock_board(bank, slot)
        if board is None:
            return refused(request, 409, ["path", "slot"], msg.NO_BOARD, slot=f"{bank}/{slot}")
        if not board.health.connected:
            return refused(request, 409, ["path", "slot"], msg.BOARD_OFFLINE, slot=f"{bank}/{slot}", board=board.id)
        answer = await record({"type": "unlock", "bank": bank, "slot": slot, "by": who.username}, request)
        if isinstance(answer, JSONResponse):
            return answer  # refused (not covered now): nothing journaled, nothing sent
        try:
            await board.unlock(slot)
        except (DeviceError, OSError, ValueError) as exc:
            log.warning(
                "unlock journaled but the lock board failed",
                extra={"fields": {"slot": f"{bank}/{slot}", "board": board.id, "error": str(exc)}},
            )
            return refused(
                request, 502, ["path", "slot"], msg.BOARD_FAILED, slot=f"{bank}/{slot}", board=board.id, reason=exc
            )
        return answer
