# The Python-level interface of the compiled core (core_ext/_engine.pyx; C-level contract in
# core_ext/_engine.pxd). mypy reads this instead of the extension; core_ext/core.py checks that
# CompiledEngine conforms to the same EngineCore protocol as core_ext.reference.ReferenceEngine.
from typing import Any

from core_ext.site import SiteModel

PERSON_C_BYTES: int
SLOW_FIELDS: tuple[str, ...]

def pack_records(records: list[tuple]) -> tuple[bytes, bytes, bytes]: ...

class _Slow:
    checkin_ts: int
    arrived_ts: int
    limit: int
    warn_raised: int
    exceeded_raised: int
    gap_from: int
    basis: int
    flags: int
    time_gen: int
    visited: int
    stays: list[Any]
    alerts: list[Any]
    gaps: list[Any]
    stay: Any
    minor: bool
    vulnerable: bool
    away: bool
    noflow: bool
    guardian: int
    ward: int
    meal_gen: int
    transfer_gen: int
    exit_gen: int
    outcome: int
    released_to: int
    belongings: int
    belongings_reason: int
    decided: int
    meal_since: int
    meal_raised: int
    transfer_raised: int
    exit_raised: int
    exits: list[Any]
    welfare: list[Any]
    decisions: list[Any]

class CompiledEngine:
    site: SiteModel
    name: str
    property: Any  # core_ext.property.PropertyLedger
    events_seen: int
    slow_events: int
    def __init__(self, site: SiteModel) -> None: ...
    def feed(self, records: list[tuple]) -> list[tuple]: ...
    def feed_packed(self, buf: bytes, extras: bytes | None = None, items: bytes | None = None) -> list[tuple]: ...
    def tick(self, now: int) -> list[tuple]: ...
    def finish(self, until: int) -> list[tuple]: ...
    def export_state(self) -> dict[str, Any]: ...
    def import_state(self, state: dict[str, Any]) -> None: ...
    def push_timer(self, deadline: int, kind: int, ident: int, gen: int) -> None: ...
    def emit_alert(
        self,
        ts: int,
        rule: int,
        state: int,
        subject: int,
        zone: int,
        n1: int = -1,
        n2: int = -1,
        l1: tuple = (),
        l2: tuple = (),
    ) -> None: ...
