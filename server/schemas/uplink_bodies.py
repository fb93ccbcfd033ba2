"""The bodies of uplink entries, one struct per kind (and per event type for `event`).

Unknown fields are accepted and ignored here: the journal keeps the body verbatim, these
structs only validate what the server relies on and feed the projections. All are gc=False
(see server/schemas/uplink.py).
"""
from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

Ms = Annotated[int, Meta(ge=0, description="epoch milliseconds, UTC")]
Id = Annotated[str, Meta(min_length=1, max_length=128)]


# --- event bodies (DESIGN §6.2) -------------------------------------------------------------


class EventHeader(Struct, gc=False):
    ts: Ms
    type: Annotated[str, Meta(min_length=1)]


class Enroll(Struct, gc=False, tag_field="type", tag="enroll"):
    ts: Ms
    person: Id
    role: Literal["officer", "custodian", "doctor"]
    sex: Literal["M", "F"]
    tag: Id


class Checkin(Struct, gc=False, tag_field="type", tag="checkin"):
    ts: Ms
    person: Id
    role: Literal["suspect", "witness", "victim", "other"]
    sex: Literal["M", "F"]
    tag: Id
    basis: Id
    case: Id
    arrived_ts: Ms | None = None
    extended: bool = False
    minor: bool = False


class Extend(Struct, gc=False, tag_field="type", tag="extend"):
    ts: Ms
    person: Id
    level: str = "extended"
    limit_h: float | None = None


class Checkout(Struct, gc=False, tag_field="type", tag="checkout"):
    ts: Ms
    person: Id


class TagSeen(Struct, gc=False, tag_field="type", tag="tag_seen"):
    ts: Ms
    reader: Id
    tag: Id
    rssi: float | None = None


class Camera(Struct, gc=False, tag_field="type", tag="camera"):
    ts: Ms
    camera: Id
    state: Literal["recording", "stopped", "offline", "online"]


class Door(Struct, gc=False, tag_field="type", tag="door"):
    ts: Ms
    door: Id
    state: Literal["open", "closed", "forced"]


class Badge(Struct, gc=False, tag_field="type", tag="badge"):
    ts: Ms
    tag: Id
    reader: Id | None = None
    bank: Id | None = None


class Intake(Struct, gc=False, tag_field="type", tag="intake"):
    ts: Ms
    item: Id
    case: Id
    bank: Id
    slot: int
    by: str | None = None


class WorkOrder(Struct, gc=False, tag_field="type", tag="workorder"):
    ts: Ms
    id: Id
    item: Id
    action: Literal["withdraw", "return", "dispose"]
    bank: Id
    slot: int
    valid_from: Ms
    valid_until: Ms
    by: str | None = None
    due_ts: Ms | None = None


class Locker(Struct, gc=False, tag_field="type", tag="locker"):
    ts: Ms
    bank: Id
    slot: int
    state: Literal["open", "closed"]
    items: list[str] | None = None


KnownEvent = Enroll | Checkin | Extend | Checkout | TagSeen | Camera | Door | Badge | Intake | WorkOrder | Locker
KNOWN_EVENT_TYPES = frozenset(t.__struct_config__.tag for t in KnownEvent.__args__)


# --- engine outputs (DESIGN §6.3 and the uplink brief) ---------------------------------------


class AlertBody(Struct, gc=False):
    ts: Ms
    rule: Id
    state: Literal["raised", "cleared"]
    subject: Id
    zone: str | None = None
    severity: str | None = None
    detail: Any = None


class LocationBody(Struct, gc=False):
    ts: Ms
    person: Id
    zone: str | None
    prev: str | None = None


class CustodyBody(Struct, gc=False):
    ts: Ms
    person: Id
    state: Literal["in", "extended", "out"]
    role: str | None = None
    sex: str | None = None
    case: str | None = None
    basis: str | None = None
    arrived_ts: Ms | None = None
    limit_ms: Annotated[int, Meta(ge=0)] | None = None
    deadline_ts: Ms | None = None


class Stay(Struct, gc=False):
    zone: str | None
    enter_ts: Ms
    leave_ts: Ms | None
    officers: list[str]
    unrecorded_ms: Annotated[int, Meta(ge=0)]


class TrailBody(Struct, gc=False):
    subject: Id
    checkin_ts: Ms | None
    checkout_ts: Ms | None
    stays: list[Stay]
    steps_missing: list[str]
    closed: bool


class ItemTrailBody(Struct, gc=False):
    item: Id
    events: list[Any]
    closed: bool


class HealthBody(Struct, gc=False):
    gateway: dict[str, Any]
    devices: dict[str, dict[str, Any]]


BODY_TYPES: dict[str, type] = {
    "alert": AlertBody,
    "location": LocationBody,
    "custody": CustodyBody,
    "trail": TrailBody,
    "item_trail": ItemTrailBody,
    "health": HealthBody,
}


# Which field of each body names the person or item the entry is about.
_SUBJECT_FIELD: dict[type, str] = {
    LocationBody: "person", CustodyBody: "person", AlertBody: "subject", TrailBody: "subject",
    ItemTrailBody: "item", Enroll: "person", Checkin: "person", Extend: "person", Checkout: "person",
    Intake: "item", WorkOrder: "item",
}


def slot_name(bank: str, slot: int) -> str:
    """A locker slot as alerts name it (DESIGN §6.2: `<bank>/<slot>`)."""
    return f"{bank}/{slot}"


def _locker_slot(body: Locker) -> str:
    return slot_name(body.bank, body.slot)


# body type -> the function giving its subject; types about no one are absent (the ingest's
# COPY loop looks this up once per entry instead of calling entry_subject).
SUBJECT_GETTERS: dict[type, Callable[[Any], str]] = {
    **{body_type: attrgetter(field) for body_type, field in _SUBJECT_FIELD.items()}, Locker: _locker_slot,
}


def entry_subject(body: Any) -> str | None:
    """The person, item or locker slot an entry is about, indexed for trail look-ups."""
    get_subject = SUBJECT_GETTERS.get(type(body))
    return None if get_subject is None else get_subject(body)
