"""The bodies of uplink entries, one struct per kind (and per event type for `event`).

Unknown fields are accepted and ignored here: the journal keeps the body verbatim, these
structs only validate what the server relies on and feed the projections. All are gc=False
(see server/schemas/uplink.py).

Every enumerated field is checked against the one vocabulary, core_ext/vocab.py: the Literals
below are built from its tuples, so a value appended there is accepted here with no edit.
Every string has a length bound and every integer a range, so nothing a gateway sends can
overflow a database column (a 500 the gateway would retry for ever).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from msgspec import Meta, Struct, field

from core_ext import vocab
from core_ext.chain import SIGNATURE_KIND
from core_ext.output import CUSTODY_STATES

# 2100-01-01T00:00:00Z: later (or negative) times are a gateway clock or encoder fault.
MAX_TS_MS = 4_102_444_800_000
MAX_INT64 = 2**63 - 1
Ms = Annotated[int, Meta(ge=0, le=MAX_TS_MS, description="epoch milliseconds, UTC (before 2100)")]
Id = Annotated[str, Meta(min_length=1, max_length=128)]
ShortId = Annotated[str, Meta(min_length=1, max_length=64)]  # zones, banks, readers: String(64) columns
Text = Annotated[str, Meta(max_length=200)]
SlotNo = Annotated[int, Meta(ge=0, le=1_000_000)]
Hex64 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
DurationMs = Annotated[int, Meta(ge=0, le=MAX_TS_MS)]
Hours = Annotated[float, Meta(ge=0, le=10_000)]


if TYPE_CHECKING:  # mypy sees plain strings; msgspec sees the Literals built from the vocabulary
    StaffRole: TypeAlias = str
    SubjectRole: TypeAlias = str
    Sex: TypeAlias = str
    Basis: TypeAlias = str
    CameraState: TypeAlias = str
    DoorState: TypeAlias = str
    LockerState: TypeAlias = str
    WorkOrderAction: TypeAlias = str
    Outcome: TypeAlias = str
    Belongings: TypeAlias = str
    LeaveReason: TypeAlias = str
    DecisionKind: TypeAlias = str
    WelfareKind: TypeAlias = str
    Rule: TypeAlias = str
    Severity: TypeAlias = str
    CustodyState: TypeAlias = str
    ZoneType: TypeAlias = str
else:
    # Enrolment takes every role that is not a subject's (staff, and the second layer's guardian).
    StaffRole = vocab.one_of(tuple(r for r in vocab.ROLES if r not in vocab.SUBJECT_ROLES))
    SubjectRole = vocab.one_of(vocab.SUBJECT_ROLES)
    Sex = vocab.one_of(vocab.SEXES)
    Basis = vocab.one_of(vocab.BASES)
    CameraState = vocab.one_of(vocab.CAMERA_STATES)
    DoorState = vocab.one_of(vocab.DOOR_STATES)
    LockerState = vocab.one_of(vocab.LOCKER_STATES)
    WorkOrderAction = vocab.one_of(vocab.WORKORDER_ACTIONS)
    Outcome = vocab.one_of(vocab.OUTCOMES)
    Belongings = vocab.one_of(vocab.BELONGINGS)
    LeaveReason = vocab.one_of(vocab.LEAVE_REASONS)
    DecisionKind = vocab.one_of(vocab.DECISION_KINDS)
    WelfareKind = vocab.one_of(vocab.WELFARE_KINDS)
    Rule = vocab.one_of(vocab.RULES)
    Severity = vocab.one_of(tuple(vocab.SEVERITY.values()))
    CustodyState = vocab.one_of(CUSTODY_STATES)
    ZoneType = vocab.one_of(vocab.ZONE_TYPES)


# --- event bodies (DESIGN §6.2, first and second layer) -------------------------------------


class EventHeader(Struct, gc=False):
    ts: Ms
    type: Annotated[str, Meta(min_length=1, max_length=64)]


class Enroll(Struct, gc=False, tag_field="type", tag="enroll"):
    ts: Ms
    person: Id
    role: StaffRole
    sex: Sex
    tag: Id
    for_: Id | None = field(default=None, name="for")  # second layer: the subject a guardian is enrolled for


class Checkin(Struct, gc=False, tag_field="type", tag="checkin"):
    ts: Ms
    person: Id
    role: SubjectRole
    sex: Sex
    tag: Id
    basis: Basis
    case: Id
    arrived_ts: Ms | None = None
    extended: bool = False
    minor: bool = False
    age: Annotated[int, Meta(ge=0, le=200)] | None = None
    pregnant: bool | None = None
    guardian: Id | None = None


class Extend(Struct, gc=False, tag_field="type", tag="extend"):
    ts: Ms
    person: Id
    level: Annotated[str, Meta(max_length=32)] = "extended"
    limit_h: Hours | None = None


class Checkout(Struct, gc=False, tag_field="type", tag="checkout"):
    ts: Ms
    person: Id
    outcome: Outcome | None = None
    released_to: Text | None = None
    belongings: Belongings | None = None
    belongings_reason: Annotated[str, Meta(max_length=2000)] | None = None


class TagSeen(Struct, gc=False, tag_field="type", tag="tag_seen"):
    ts: Ms
    reader: ShortId
    tag: Id
    rssi: Annotated[float, Meta(ge=-1000, le=1000)] | None = None


class Camera(Struct, gc=False, tag_field="type", tag="camera"):
    ts: Ms
    camera: Id
    state: CameraState


class Door(Struct, gc=False, tag_field="type", tag="door"):
    ts: Ms
    door: Id
    state: DoorState


class Badge(Struct, gc=False, tag_field="type", tag="badge"):
    ts: Ms
    tag: Id
    reader: ShortId | None = None
    bank: ShortId | None = None


class Intake(Struct, gc=False, tag_field="type", tag="intake"):
    ts: Ms
    item: Id
    case: Id
    bank: ShortId
    slot: SlotNo
    by: Id | None = None
    owner: Id | None = None
    seized_ts: Ms | None = None


class WorkOrder(Struct, gc=False, tag_field="type", tag="workorder"):
    ts: Ms
    id: Id
    item: Id
    action: WorkOrderAction
    bank: ShortId
    slot: SlotNo
    valid_from: Ms
    valid_until: Ms
    by: Id | None = None
    due_ts: Ms | None = None
    requested_by: Id | None = None
    approved_by: Id | None = None


class Locker(Struct, gc=False, tag_field="type", tag="locker"):
    ts: Ms
    bank: ShortId
    slot: SlotNo
    state: LockerState
    items: list[Id] | None = None


class Leave(Struct, gc=False, tag_field="type", tag="leave"):
    ts: Ms
    person: Id
    reason: LeaveReason
    until_ts: Ms
    approved_by: Id


class Return(Struct, gc=False, tag_field="type", tag="return"):
    ts: Ms
    person: Id


class Decision(Struct, gc=False, tag_field="type", tag="decision"):
    ts: Ms
    person: Id
    kind: DecisionKind


class Welfare(Struct, gc=False, tag_field="type", tag="welfare"):
    ts: Ms
    person: Id
    kind: WelfareKind


class Seizure(Struct, gc=False, tag_field="type", tag="seizure"):
    ts: Ms
    item: Id
    case: Id
    by: Id
    seized_ts: Ms | None = None


class Unlock(Struct, gc=False, tag_field="type", tag="unlock"):
    ts: Ms
    bank: ShortId
    slot: SlotNo
    by: Id


KnownEvent = (
    Enroll
    | Checkin
    | Extend
    | Checkout
    | TagSeen
    | Camera
    | Door
    | Badge
    | Intake
    | WorkOrder
    | Locker
    | Leave
    | Return
    | Decision
    | Welfare
    | Seizure
    | Unlock
)
KNOWN_EVENT_TYPES = frozenset(t.__struct_config__.tag for t in KnownEvent.__args__)


# --- engine outputs (DESIGN §6.3 and the uplink brief) ---------------------------------------

# An alert's `detail` is stored and shown as data: bounded in size (bytes of its JSON) and depth.
ALERT_DETAIL_MAX_BYTES = 16 * 1024
ALERT_DETAIL_MAX_DEPTH = 8


class AlertBody(Struct, gc=False):
    ts: Ms
    rule: Rule
    state: Literal["raised", "cleared"]
    subject: Id
    zone: ShortId | None = None
    severity: Severity | None = None
    detail: Any = None


class LocationBody(Struct, gc=False):
    ts: Ms
    person: Id
    zone: ShortId | None
    prev: ShortId | None = None


class CustodyBody(Struct, gc=False):
    ts: Ms
    person: Id
    state: CustodyState
    role: SubjectRole | None = None
    sex: Sex | None = None
    case: Id | None = None
    basis: Basis | None = None
    arrived_ts: Ms | None = None
    limit_ms: DurationMs | None = None
    deadline_ts: Ms | None = None
    # second layer: the gateway's reading of the check-in (DESIGN §6.2 "Minor, vulnerable", "Guardians")
    minor: bool | None = None
    vulnerable: bool | None = None
    guardian: Id | None = None


class Stay(Struct, gc=False):
    zone: ShortId | None
    enter_ts: Ms
    leave_ts: Ms | None
    officers: list[Id]
    unrecorded_ms: DurationMs


class TrailBody(Struct, gc=False):
    subject: Id
    checkin_ts: Ms | None
    checkout_ts: Ms | None
    stays: list[Stay]
    steps_missing: list[ZoneType]
    closed: bool


class ItemTrailBody(Struct, gc=False):
    item: Id
    events: list[Any]
    closed: bool


class HealthBody(Struct, gc=False):
    gateway: dict[str, Any]
    devices: dict[str, dict[str, Any]]


class SignatureBody(Struct, gc=False):
    """A signed chain head (docs/uplink.md, "Signed chain heads")."""

    ts: Ms
    signed_seq: Annotated[int, Meta(ge=1, le=MAX_INT64)]
    signed_hash: Hex64
    key_id: Annotated[str, Meta(pattern="^[0-9a-f]{16}$")]
    sig: Annotated[str, Meta(min_length=1, max_length=200)]


BODY_TYPES: dict[str, type] = {
    "alert": AlertBody,
    "location": LocationBody,
    "custody": CustodyBody,
    "trail": TrailBody,
    "item_trail": ItemTrailBody,
    "health": HealthBody,
    SIGNATURE_KIND: SignatureBody,
}


# Which field of each body names the person or item the entry is about.
_SUBJECT_FIELD: dict[type, str] = {
    LocationBody: "person",
    CustodyBody: "person",
    AlertBody: "subject",
    TrailBody: "subject",
    ItemTrailBody: "item",
    Enroll: "person",
    Checkin: "person",
    Extend: "person",
    Checkout: "person",
    Intake: "item",
    WorkOrder: "item",
    Leave: "person",
    Return: "person",
    Decision: "person",
    Welfare: "person",
    Seizure: "item",
}


def slot_name(bank: str, slot: int) -> str:
    """A locker slot as alerts name it (DESIGN §6.2: `<bank>/<slot>`)."""
    return f"{bank}/{slot}"


def _slot_of(body: Locker | Unlock) -> str:
    return slot_name(body.bank, body.slot)


# body type -> the function giving its subject; types about no one are absent (the ingest's
# COPY loop looks this up once per entry instead of calling entry_subject).
SUBJECT_GETTERS: dict[type, Callable[[Any], str]] = {
    **{body_type: attrgetter(field) for body_type, field in _SUBJECT_FIELD.items()},
    Locker: _slot_of,
    Unlock: _slot_of,
}


def entry_subject(body: Any) -> str | None:
    """The person, item or locker slot an entry is about, indexed for trail look-ups."""
    get_subject = SUBJECT_GETTERS.get(type(body))
    return None if get_subject is None else get_subject(body)
