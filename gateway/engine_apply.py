"""Apply: one batch of intake items through the engine, into one journal write (`Write`): the
entries to journal in order, the records for listeners, the desk answers and refusals and the
refused device events. No I/O and no event loop: what to journal is decided here, journaling is
gateway/journal_writer.py's job.

A device event the engine refuses (unknown reader, ...) is set aside with its reason and the
events around it are applied. A desk event that the pre-checks or the engine refuse is answered
with the reason and changes nothing.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core_ext.api import CustodyEngine, EventError
from gateway.desk.checks import DeskRejected, precheck
from gateway.engine_intake import DeskResult, DeviceEvent, Health, Item


@dataclass
class Write:
    """One batch's journal entries and what to do once they are committed."""
    items: list[tuple[int, str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[asyncio.Future[DeskResult], int, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    refusals: list[tuple[asyncio.Future[DeskResult], Exception]] = field(default_factory=list)
    rejected: list[tuple[DeviceEvent, str]] = field(default_factory=list)
    tick_ms: int | None = None
    submitted: int = 0  # intake items this write completes
    engine_snapshot: tuple[int, bytes] | None = None  # (ticked_to, engine state right after this write)


def apply_batch(engine: CustodyEngine, batch: list[Item], batch_ts: int, view: Any = None) -> Write:
    """Feed the engine; collect the entries to journal and the answers to give after.
    `batch_ts` stamps outputs without a time of their own; `view` is the desk's view of the
    site for the pre-checks (None: none)."""
    write = Write(submitted=len(batch))
    items, records = write.items, write.records
    segment: list[DeviceEvent] = []
    feed = engine.feed

    def add(events: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> None:
        for ev in events:
            items.append((ev["ts"], "event", ev))
        for out in outputs:
            items.append((out.get("ts", batch_ts), out["kind"], out))
        records.extend(events)
        records.extend(outputs)

    def flush_devices() -> None:
        start = 0
        events = [s.event for s in segment]
        while start < len(events):
            try:
                add(events[start:] if start else events, feed(events[start:] if start else events))
                break
            except EventError as exc:
                bad = start + (exc.index or 0)
                add(events[start:bad], engine.pending)
                write.rejected.append((segment[bad], str(exc)))
                start = bad + 1
        segment.clear()

    for item in batch:
        if type(item) is DeviceEvent:
            segment.append(item)
            continue
        flush_devices()
        if isinstance(item, Health):
            items.append((item.ts, "health", item.body))
            continue
        assert not isinstance(item, DeviceEvent)
        try:
            precheck(engine, item.event, view)
            outputs = feed([item.event])
        except (DeskRejected, EventError) as exc:
            write.refusals.append((item.future, exc))
            continue
        position = len(items)
        add([item.event], outputs)
        write.answers.append((item.future, position, item.event, outputs))
    flush_devices()
    return write


def apply_tick(engine: CustodyEngine, target: int) -> Write | None:
    """Timers up to `target`; a write only when they produced output (the replay needs its time)."""
    outputs = engine.tick(target)
    if not outputs:
        return None
    write = Write(tick_ms=target)
    write.items = [(o.get("ts", target), o["kind"], o) for o in outputs]
    write.records = outputs
    return write


class SnapshotPolicy:
    """When to snapshot the engine: every `every` journal entries (0: never). The snapshot is
    taken right after a batch is applied and committed with that batch, so it is exactly the
    state after those entries."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._since = 0

    def due(self, entries: int) -> bool:
        """Counts a write's entries; True when a snapshot should go with this write."""
        self._since += entries
        if self.every and self._since >= self.every:
            self._since = 0
            return True
        return False

