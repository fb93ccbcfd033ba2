"""The interface both engine cores implement: the compiled one (core_ext/_engine.pyx, typed by
core_ext/_engine.pyi) and its pure-Python twin (core_ext/reference.py).

Records in are the decoded tuples of core_ext/events.py; outputs are the tuples that
core_ext/output.py formats. core_ext/select.py returns cores as `EngineCore`, and the block at the
end of this file makes mypy check that both classes conform, so a method added to one twin and
not the other (or a changed signature) fails `make check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core_ext.site import SiteModel


class EngineCore(Protocol):
    """What core_ext.api.CustodyEngine (and the gateway through it) uses of a core."""

    @property
    def name(self) -> str:
        """'compiled' or 'reference': snapshots are tagged with it and resume only on the same core."""
        ...

    @property
    def events_seen(self) -> int:
        """Records fed so far (the ordinal of the next one)."""
        ...

    def feed(self, records: list[tuple]) -> list[tuple]:
        """Applies decoded records in order (timers due before each fire first); the output tuples."""
        ...

    def tick(self, now: int) -> list[tuple]:
        """Fires every timer due by `now` (inclusive); the output tuples."""
        ...

    def finish(self, until: int) -> list[tuple]:
        """`tick(until)`, then the trails of subjects still in and every item trail."""
        ...

    def export_state(self) -> dict[str, Any]:
        """The core's state as plain data (core_ext/snapshot.py makes it JSON)."""
        ...

    def import_state(self, state: dict[str, Any]) -> None:
        """Restores `export_state()` data into a fresh core of the same site."""
        ...


class PackedEngineCore(EngineCore, Protocol):
    """The compiled core also takes batches packed into C records (`_engine.pack_records`), which
    is how bench/core.py drives it, and counts the events that left its C hot path."""

    @property
    def slow_events(self) -> int: ...

    def feed_packed(self, buf: bytes, extras: bytes | None = None, items: bytes | None = None) -> list[tuple]: ...


if TYPE_CHECKING:
    from core_ext._engine import CompiledEngine
    from core_ext.reference import ReferenceEngine

    def _both_twins_conform(site: SiteModel) -> None:
        reference: EngineCore = ReferenceEngine(site)
        compiled: PackedEngineCore = CompiledEngine(site)
        del reference, compiled
