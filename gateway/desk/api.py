"""The desk API: staff at the registration desk and the property room record what happens.

Every write becomes one §6.2 event, stamped by the gateway clock, put on the engine queue and
answered only after it is journaled (201 with its journal seq and the engine's outputs). Bad
input gets a 4xx whose `detail[].loc` names the request field and changes nothing: shape errors
are caught by the request models (422), state errors (person already checked in, tag worn by
someone else, unknown bank) by a check against the engine state (404/409/422).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from core_ext import vocab
from core_ext.api import EventError
from gateway.desk import messages as msg
from gateway.desk.auth import DeskAuth
from gateway.desk.checks import DeskRejected
from gateway.desk.staff import Session, StaffStore
from gateway.engine_task import DeskResult, EngineRunner
from gateway.journal import JournalError
from gateway.zone_status import ZoneStatus

if TYPE_CHECKING:
    from gateway.desk.routes import DeskContext

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Ms = Annotated[int, Field(ge=0, description="epoch milliseconds, UTC")]
PERSON_ROLES = ("desk", "supervisor")
PROPERTY_ROLES = ("custodian", "supervisor")


if TYPE_CHECKING:  # mypy sees plain strings; pydantic sees the Literals built from the vocabulary
    StaffRole: TypeAlias = str
    SubjectRole: TypeAlias = str
    Sex: TypeAlias = str
    Basis: TypeAlias = str
    WorkOrderAction: TypeAlias = str
    Outcome: TypeAlias = str
    Belongings: TypeAlias = str
else:
    StaffRole = vocab.one_of(vocab.STAFF_ROLES)
    SubjectRole = vocab.one_of(vocab.SUBJECT_ROLES)
    Sex = vocab.one_of(vocab.SEXES)
    Basis = vocab.one_of(vocab.BASES)
    WorkOrderAction = vocab.one_of(vocab.WORKORDER_ACTIONS)
    Outcome = vocab.one_of(vocab.OUTCOMES)
    Belongings = vocab.one_of(vocab.BELONGINGS)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrollRequest(_Request):
    person: Id
    role: StaffRole
    sex: Sex
    tag: Id


class CheckinRequest(_Request):
    person: Id
    role: SubjectRole
    sex: Sex
    tag: Id
    basis: Basis
    case: Id
    arrived_ts: Ms | None = Field(None, description="到案时间; defaults to the check-in time")
    extended: bool = False
    minor: bool = False
    id_card: str | None = Field(None, min_length=1, max_length=64, description="身份证号 (kept in the journal)")
    name: str | None = Field(None, min_length=1, max_length=128, description="the person's name")
    age: int | None = Field(None, ge=0, le=150, description="years; under 18 is a minor")
    pregnant: bool | None = Field(None, description="pregnant or nursing an infant under one year")
    guardian: Id | None = Field(None, description="person id of the guardian who accompanies a minor")


class ExtendRequest(_Request):
    person: Id
    limit_h: float | None = Field(
        None, gt=0, description="pick one extended tier; default the highest (on a stepwise basis: the next tier)"
    )
    approved_by: Id | None = Field(None, description="who approved the extension")


class CheckoutRequest(_Request):
    person: Id
    outcome: Outcome | None = None
    released_to: str | None = Field(None, min_length=1, max_length=128, description="who collected the person")
    belongings: Belongings | None = Field(None, description="returned (default) or kept")
    belongings_reason: str | None = Field(None, min_length=1, max_length=500)


class IntakeRequest(_Request):
    item: Id
    case: Id
    bank: Id
    slot: int = Field(ge=1)
    by: Id | None = None
    owner: Id | None = Field(None, description="the subject whose belongings (随身物品) this is")
    seized_ts: Ms | None = Field(None, description="when the item was seized")


class WorkOrderRequest(_Request):
    id: Id
    item: Id
    action: WorkOrderAction
    bank: Id
    slot: int = Field(ge=1)
    valid_from: Ms
    valid_until: Ms
    due_ts: Ms | None = None
    by: Id | None = None
    requested_by: Id | None = Field(None, description="default: by")
    approved_by: Id | None = Field(None, description="a person other than the requester")

    @model_validator(mode="after")
    def _window(self) -> "WorkOrderRequest":
        if self.valid_until < self.valid_from:
            raise ValueError(msg.WINDOW_INVERTED)
        return self


class Recorded(BaseModel):
    seq: int = Field(description="journal sequence number of the event")
    ts: int
    event: dict[str, Any]
    outputs: list[dict[str, Any]]


def _field_error(status_code: int, field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        status_code=status_code, content={"detail": [{"loc": ["body", field], "msg": message, "type": kind}]}
    )


class Problem(BaseModel):
    """An error: a sentence, or FastAPI's list of {loc, msg, type} naming the field at fault."""

    detail: str | list[dict[str, Any]]


# Every route may answer these (the log-in and the role checks, the body limit, a journal failure).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body could not be read as JSON (e.g. not UTF-8)"},
    401: {
        "model": Problem,
        "description": "not logged in, or the account was removed, disabled or given a new password",
    },
    403: {"model": Problem, "description": "the role may not do this, or `by` names someone else (detail[0].loc)"},
    413: {"model": Problem, "description": "request body over 1 MiB"},
    503: {"model": Problem, "description": "not recorded: the journal write failed"},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "the person is not checked in"},
    409: {"model": Problem, "description": "the state forbids it (already checked in, tag worn by someone else, ...)"},
    422: {"model": Problem, "description": "a field is malformed or refused by the engine; detail[].loc names it"},
}


def create_desk_app(
    runner: EngineRunner,
    staff: StaffStore,
    zones: ZoneStatus,
    health: Callable[[], dict[str, Any]],
    auth: DeskAuth | None = None,
    plan: dict[str, Any] | None = None,
    context: "DeskContext | None" = None,
) -> FastAPI:
    app = FastAPI(
        title="Custody gateway desk API",
        version="1",
        description="Check-in, check-out, staff enrolment and property for one site; the registration "
        "desk and property room consoles at /.",
        responses=ERROR_RESPONSES,
    )
    auth = auth or DeskAuth(staff)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if (
            exc.status_code == 400
        ):  # FastAPI's "error parsing the body" (bytes that are not UTF-8): in the desk's language
            exc = HTTPException(400, detail=msg.text(msg.desk_locale(request), msg.VALIDATION["json_invalid"]))
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content={"detail": msg.validation_detail(exc.errors(), msg.desk_locale(request))}
        )

    # The one source of the user (gateway/desk/auth.py): re-checked against the staff file on
    # every request, and a JSON body's `by` must name them.
    current = auth.current_user

    def role_in(roles: tuple[str, ...]) -> Callable[..., Session]:
        def check(request: Request, session: Annotated[Session, Depends(current)]) -> Session:
            if session.role not in roles:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail=msg.text(
                        msg.desk_locale(request), msg.WRONG_ROLE, role=session.role, roles=", ".join(roles)
                    ),
                )
            return session

        return check

    PersonStaff = Annotated[Session, Depends(role_in(PERSON_ROLES))]
    PropertyStaff = Annotated[Session, Depends(role_in(PROPERTY_ROLES))]
    AnyStaff = Annotated[Session, Depends(current)]

    async def record(event: dict[str, Any], request: Request) -> Recorded | JSONResponse:
        locale = msg.desk_locale(request)
        try:
            result: DeskResult = await runner.submit_desk(event)
        except DeskRejected as exc:
            return _field_error(exc.status, exc.field, exc.localized(locale), "state")
        except EventError as exc:
            field = exc.field or "body"
            # The engine's own wording (shared with `custody replay`) is quoted inside a translated lead.
            return _field_error(422, field, msg.text(locale, msg.ENGINE_REFUSED, reason=exc), "value_error")
        except JournalError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail=msg.text(locale, msg.NOT_RECORDED, reason=exc)
            ) from exc
        return Recorded(seq=result.seq, ts=result.event["ts"], event=result.event, outputs=result.outputs)

    def event_of(kind: str, body: BaseModel) -> dict[str, Any]:
        return {"type": kind, **body.model_dump(exclude_none=True)}

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    auth.install(app)  # /desk/v1/login (throttled), /desk/v1/logout, the 1 MiB body limit

    @app.post("/desk/v1/staff", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def enroll(body: EnrollRequest, who: PersonStaff, request: Request) -> Any:
        """Enrol an officer, custodian or doctor with their badge tag."""
        return await record(event_of("enroll", body), request)

    @app.post("/desk/v1/checkins", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def checkin(body: CheckinRequest, who: PersonStaff, request: Request) -> Any:
        """Check a person in: bind the wristband, record the legal basis and arrival time."""
        return await record(event_of("checkin", body), request)

    @app.post("/desk/v1/extensions", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def extend(body: ExtendRequest, who: PersonStaff, request: Request) -> Any:
        return await record({"type": "extend", "level": "extended", **body.model_dump(exclude_none=True)}, request)

    @app.post("/desk/v1/checkouts", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def checkout(body: CheckoutRequest, who: PersonStaff, request: Request) -> Any:
        return await record(event_of("checkout", body), request)

    @app.post("/desk/v1/intakes", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def intake(body: IntakeRequest, who: PropertyStaff, request: Request) -> Any:
        """Take an item into a locker slot (opens the slot's intake window)."""
        event = event_of("intake", body)
        event.setdefault("by", who.username)
        return await record(event, request)

    @app.post("/desk/v1/workorders", status_code=201, response_model=Recorded, responses=WRITE_RESPONSES)
    async def workorder(body: WorkOrderRequest, who: PropertyStaff, request: Request) -> Any:
        """An approved work order: withdraw, return or dispose of an item within a time window."""
        event = event_of("workorder", body)
        event.setdefault("by", who.username)
        event.setdefault("requested_by", event["by"])
        return await record(event, request)

    @app.get("/desk/v1/zones")
    def zones_now(who: AnyStaff) -> dict[str, Any]:
        return zones.all()

    @app.get("/desk/v1/plan")
    def plan_now(who: AnyStaff) -> dict[str, Any]:
        """The site's floor plan (core_ext/layout.py), for the console's plan view (server/static/floorplan.js)."""
        if plan is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no floor plan")
        return plan

    @app.get("/desk/v1/health")
    def health_now(who: AnyStaff) -> dict[str, Any]:
        return health()

    if context is not None:
        from gateway.desk import console, routes

        routes.install(app, context, record, role_in(PERSON_ROLES), role_in(PROPERTY_ROLES), current)
        console.install(app)
    return app
