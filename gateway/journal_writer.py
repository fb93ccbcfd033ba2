"""Journal write: commit one `Write` (gateway/engine_apply.py) in one transaction, then, strictly
in write order, answer the desk, count, and tell the listeners (MQTT, uplink, the desk feed).

Zone status follows the journal write by write; it is updated before the append so that a
snapshot committed with a write holds the status as of that write.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.engine_apply import Write
from gateway.engine_intake import DeskResult
from gateway.journal import Journal, Snapshot
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway.engine")

CommitListener = Callable[[list[dict[str, Any]], set[str]], None]
INLINE_COMMIT_MAX = 256  # entries; larger batches are committed in a worker thread


@dataclass
class EngineStats:
    events: int = 0
    outputs: int = 0
    rejected_device_events: int = 0
    rejected_desk_requests: int = 0
    batches: int = 0
    ticks_with_output: int = 0
    alerts_raised: int = 0
    last_error: str | None = None
    replayed_events: int = 0
    replay_seconds: float = 0.0
    resumed_from_seq: int = 0   # the snapshot a restart resumed from (0: replayed from the start)
    snapshots: int = 0


class JournalWriter:
    def __init__(self, journal: Journal, status: ZoneStatus, stats: EngineStats,
                 listeners: list[CommitListener]) -> None:
        self.journal = journal
        self.status = status
        self.stats = stats
        self.listeners = listeners

    async def commit(self, write: Write) -> None:
        first_seq = 0
        changed = self.status.apply(write.records)
        snapshot = None
        if write.engine_snapshot is not None:
            ticked_to, engine_state = write.engine_snapshot
            snapshot = Snapshot(0, ticked_to, engine_state, self.status.to_json())
            self.stats.snapshots += 1
        if len(write.items) > INLINE_COMMIT_MAX or self.journal.power_loss_safe or snapshot is not None:
            # FULL: an fsync per commit; large batches and snapshots: off the event loop
            first_seq, _ = await asyncio.to_thread(self.journal.append, write.items, write.tick_ms, snapshot)
        elif write.items or write.tick_ms is not None:
            # A small commit takes well under a millisecond; a hop to a worker thread and back
            # costs more than that in scheduling on a busy machine, right on the alert path.
            first_seq, _ = self.journal.append(write.items, write.tick_ms)
        for device_event, error in write.rejected:
            await asyncio.to_thread(self.journal.record_rejected, device_event.event["ts"],
                                    device_event.source, device_event.event, error)
            self.stats.rejected_device_events += 1
            log.warning("device event refused by the engine", extra={"fields": {
                "device": device_event.source, "event": device_event.event, "error": error}})
        for future, exc in write.refusals:
            self.stats.rejected_desk_requests += 1
            if not future.done():
                future.set_exception(exc)
        for future, position, event, outputs in write.answers:
            if not future.done():
                future.set_result(DeskResult(first_seq + position, event, outputs))
        self._count(write)
        for listener in self.listeners:
            listener(write.records, changed)

    def _count(self, write: Write) -> None:
        stats = self.stats
        if write.tick_ms is not None:
            stats.ticks_with_output += 1
        else:
            stats.batches += 1
        for _, kind, body in write.items:
            if kind == "event":
                stats.events += 1
            elif kind != "health":
                stats.outputs += 1
                if kind == "alert" and body["state"] == "raised":
                    stats.alerts_raised += 1
