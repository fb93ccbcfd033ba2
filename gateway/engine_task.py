"""The engine task: the only owner of the CustodyEngine and the only journal writer.

Drivers and the desk API append stamped events to one intake; the engine task takes whatever
has queued up (at most `batch_max`), feeds the engine, and hands the batch's journal entries
to the writer. The writer journals each batch in one transaction (in a worker thread, so the
engine can work on the next batch meanwhile) and only then answers the desk, publishes on
MQTT and wakes the uplink, strictly in batch order. When nothing arrives for
`tick_interval_s` the engine ticks to `now - 1` ms (the engine fires timers with deadline < ts
before an event at ts, so ticking to now-1 keeps live operation identical to a replay) and a
tick that produced output is journaled with its time, for the replay.

The parts, each testable alone: gateway/engine_intake.py (intake and batching),
gateway/engine_apply.py (apply a batch or a tick; the snapshot policy), gateway/journal_writer.py
(the journal write and what follows it), gateway/engine_recovery.py (rebuild from the journal).
This class only wires them into the two tasks.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from core_ext.api import CustodyEngine
from gateway.clock import GatewayClock
from gateway.engine_apply import SnapshotPolicy, Write, apply_batch, apply_tick
from gateway.engine_intake import DeskResult, Intake
from gateway.engine_recovery import Recovered, recover
from gateway.journal import Journal, JournalError
from gateway.journal_writer import INLINE_COMMIT_MAX, CommitListener, EngineStats, JournalWriter
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway.engine")

__all__ = ["EngineRunner", "DeskResult", "EngineStats", "CommitListener", "INLINE_COMMIT_MAX"]


class EngineRunner:
    def __init__(self, engine: CustodyEngine, journal: Journal, clock: GatewayClock, status: ZoneStatus,
                 batch_max: int = 2000, tick_interval_s: float = 0.1, writes_ahead: int = 2,
                 snapshot_every: int = 100_000, ticked_to: int = -1) -> None:
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.status = status
        self.batch_max = batch_max
        self.tick_interval_s = tick_interval_s
        self.snapshots = SnapshotPolicy(snapshot_every)  # journal entries between engine snapshots (0: never)
        self.listeners: list[CommitListener] = []
        self.stats = EngineStats()
        self.intake = Intake(clock)
        self.writer = JournalWriter(journal, status, self.stats, self.listeners)
        self._writes: asyncio.Queue[Write | None] = asyncio.Queue(maxsize=writes_ahead)
        self._committed = 0
        self._committed_changed = asyncio.Event()
        self._ticked_to = ticked_to

    @classmethod
    def recovered(cls, engine: CustodyEngine, journal: Journal, clock: GatewayClock, status: ZoneStatus,
                  **options: Any) -> EngineRunner:
        """A runner that carries on where the journal ends (engine and status fresh)."""
        result = recover(journal, engine, status)
        runner = cls(result.engine, journal, clock, result.status, ticked_to=result.ticked_to, **options)
        runner._recovered(result)
        return runner

    @property
    def device_taps(self) -> list[Callable[[dict[str, Any]], None]]:
        return self.intake.device_taps

    # ---- producers (all on the event loop thread, so stamping order == intake order) ------------

    def submit_device(self, event: dict[str, Any], source: str) -> None:
        self.intake.device(event, source)

    async def submit_desk(self, event: dict[str, Any]) -> DeskResult:
        return await self.intake.desk(event)

    def submit_health(self, body: dict[str, Any]) -> None:
        self.intake.health(body)

    def stop(self) -> None:
        """Apply and journal everything queued so far, then end `run()`."""
        self.intake.stop()

    def backlog(self) -> int:
        """Events submitted but not yet journaled."""
        return self.intake.submitted - self._committed

    async def drained(self) -> None:
        """Until everything submitted so far is journaled (and listeners have run)."""
        target = self.intake.submitted
        while self._committed < target:
            self._committed_changed.clear()
            await self._committed_changed.wait()

    # ---- restart: rebuild the engine from the journal -----------------------------------------

    def rebuild(self) -> None:
        """Before `run()`: carry on from the journal (see gateway/engine_recovery.py)."""
        result = recover(self.journal, self.engine, self.status)
        self.engine, self.status, self._ticked_to = result.engine, result.status, result.ticked_to
        self.writer.status = result.status
        self._recovered(result)

    def _recovered(self, result: Recovered) -> None:
        self.clock.observe(self.journal.last_ts)
        self.stats.replayed_events = result.replayed_events
        self.stats.replay_seconds = result.replay_seconds
        self.stats.resumed_from_seq = result.resumed_from_seq

    # ---- the task -------------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer(), name="journal-writer")
        try:
            await self._engine_loop(writer)
        finally:
            if not writer.done():
                await self._writes.put(None)
            await writer  # re-raises a failed journal write

    async def _engine_loop(self, writer: asyncio.Task[None]) -> None:
        intake = self.intake
        while True:
            if not await intake.wait(self.tick_interval_s):
                await self._send(writer, self._tick())
                continue
            batch, stop = intake.take(self.batch_max)
            if batch:
                await self._send(writer, self._apply(batch))
            if stop:
                while intake:  # anything queued behind the stop marker is still applied
                    rest, _ = intake.take(self.batch_max)
                    await self._send(writer, self._apply(rest))
                return

    async def _send(self, writer: asyncio.Task[None], write: Write | None) -> None:
        if write is None:
            return
        if writer.done():
            writer.result()
            raise JournalError("journal writer ended")
        await self._writes.put(write)

    def _tick(self) -> Write | None:
        target = self.clock.now() - 1
        if target <= self._ticked_to:
            return None
        self._ticked_to = target
        return apply_tick(self.engine, target)

    def _apply(self, batch: list[Any]) -> Write:
        write = apply_batch(self.engine, batch, self.clock.last_ms, self.status.view)
        if self.snapshots.due(len(write.items)):
            # Taken now, before the engine sees the next batch, and committed with this batch's
            # entries, so it is exactly the state right after them.
            write.engine_snapshot = (self._ticked_to, self.engine.snapshot())
        return write

    async def _writer(self) -> None:
        while True:
            write = await self._writes.get()
            if write is None:
                return
            try:
                await self.writer.commit(write)
            except Exception as exc:
                # The engine has moved past what the journal holds: stop rather than run on
                # unrecorded state. A restart rebuilds the engine from the journal.
                self.stats.last_error = f"journal write failed: {type(exc).__name__}: {exc}"
                log.critical("journal write failed; stopping", extra={"fields": {"error": self.stats.last_error}})
                for future, _, _, _ in write.answers:
                    if not future.done():
                        future.set_exception(JournalError(self.stats.last_error))
                raise
            self._committed += write.submitted
            self._committed_changed.set()

