"""The engine task: the only owner of the CustodyEngine and the only journal writer.

Drivers and the desk API append stamped events to one intake; the engine task takes whatever
has queued up (at most `batch_max`), feeds the engine, and hands the batch's journal entries
to the writer. The writer journals each batch in one transaction (in a worker thread, so the
engine can work on the next batch meanwhile) and only then answers the desk, publishes on
MQTT and wakes the uplink, strictly in batch order. When nothing arrives for
`tick_interval_s` the engine ticks to `now - 1` ms (the engine fires timers with deadline < ts
before an event at ts, so ticking to now-1 keeps live operation identical to a replay) and a
tick that produced output is journaled with its time, for the replay.

A device event the engine refuses (unknown reader, ...) is logged with its device, counted and
kept in the journal's `rejected` table; the events around it are applied. A desk event the
engine refuses is answered with the reason and changes nothing.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core_ext.api import CustodyEngine, EventError, SnapshotMismatch
from core_ext.snapshot import SnapshotError
from gateway.clock import GatewayClock
from gateway.desk.checks import DeskRejected, precheck
from gateway.journal import Journal, JournalError, Snapshot
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway.engine")

CommitListener = Callable[[list[dict[str, Any]], set[str]], None]


@dataclass
class _DeviceEvent:
    event: dict[str, Any]
    source: str


@dataclass
class _DeskEvent:
    event: dict[str, Any]
    future: asyncio.Future["DeskResult"]


@dataclass
class _Health:
    ts: int
    body: dict[str, Any]


@dataclass(frozen=True)
class DeskResult:
    seq: int
    event: dict[str, Any]
    outputs: list[dict[str, Any]]


@dataclass
class _Write:
    """One batch's journal entries and what to do once they are committed."""
    items: list[tuple[int, str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[asyncio.Future[DeskResult], int, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    refusals: list[tuple[asyncio.Future[DeskResult], Exception]] = field(default_factory=list)
    rejected: list[tuple[_DeviceEvent, str]] = field(default_factory=list)
    tick_ms: int | None = None
    submitted: int = 0  # intake items this write completes
    engine_snapshot: tuple[int, bytes] | None = None  # (ticked_to, engine state right after this write)


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


_STOP = object()
INLINE_COMMIT_MAX = 256  # entries; larger batches are committed in a worker thread


class EngineRunner:
    def __init__(self, engine: CustodyEngine, journal: Journal, clock: GatewayClock, status: ZoneStatus,
                 batch_max: int = 2000, tick_interval_s: float = 0.1, writes_ahead: int = 2,
                 snapshot_every: int = 100_000) -> None:
        self.engine = engine
        self.snapshot_every = snapshot_every  # journal entries between engine snapshots (0: never)
        self._since_snapshot = 0
        self.journal = journal
        self.clock = clock
        self.status = status
        self.batch_max = batch_max
        self.tick_interval_s = tick_interval_s
        self.listeners: list[CommitListener] = []
        # Called with each device event as it arrives, before the engine (the desk console's
        # enrolment reader sees reads of tags nobody wears, which the engine drops).
        self.device_taps: list[Callable[[dict[str, Any]], None]] = []
        self.stats = EngineStats()
        self._intake: collections.deque[Any] = collections.deque()
        self._arrived = asyncio.Event()
        self._writes: asyncio.Queue[_Write | None] = asyncio.Queue(maxsize=writes_ahead)
        self._submitted = 0
        self._committed = 0
        self._committed_changed = asyncio.Event()
        self._ticked_to = -1

    # ---- producers (all on the event loop thread, so stamping order == intake order) ------------

    def _put(self, item: Any) -> None:
        self._intake.append(item)
        self._submitted += 1
        self._arrived.set()

    def submit_device(self, event: dict[str, Any], source: str) -> None:
        stamped = dict(event)  # the driver's dict stays the driver's
        stamped["ts"] = self.clock.now()
        self._put(_DeviceEvent(stamped, source))
        if self.device_taps:
            for tap in self.device_taps:
                tap(stamped)

    async def submit_desk(self, event: dict[str, Any]) -> DeskResult:
        stamped = dict(event)
        stamped["ts"] = self.clock.now()
        future: asyncio.Future[DeskResult] = asyncio.get_running_loop().create_future()
        self._put(_DeskEvent(stamped, future))
        return await future

    def submit_health(self, body: dict[str, Any]) -> None:
        self._put(_Health(self.clock.now(), body))

    def stop(self) -> None:
        """Apply and journal everything queued so far, then end `run()`."""
        self._intake.append(_STOP)
        self._arrived.set()

    def backlog(self) -> int:
        """Events submitted but not yet journaled."""
        return self._submitted - self._committed

    async def drained(self) -> None:
        """Until everything submitted so far is journaled (and listeners have run)."""
        target = self._submitted
        while self._committed < target:
            self._committed_changed.clear()
            await self._committed_changed.wait()

    # ---- restart: rebuild the engine from the journal -----------------------------------------

    def rebuild(self) -> None:
        """Resume from the latest snapshot, then replay the journaled events and ticks after it
        (all of them when there is none); the engine and zone status end where they were."""
        started = time.perf_counter()
        pending: list[tuple[int, dict[str, Any]]] = []
        count = 0
        after_seq, ticked_to = self._resume(self.journal.latest_snapshot())

        def flush() -> None:
            if not pending:
                return
            events = [ev for _, ev in pending]
            try:
                outputs = self.engine.feed(events)
            except EventError as exc:
                seq = pending[exc.index][0] if exc.index is not None else pending[0][0]
                raise JournalError(
                    f"{self.journal.path}: seq {seq}: journaled event refused on replay: {exc}. The site "
                    "config no longer matches this journal (a reader, camera, bank or door was removed?)"
                ) from exc
            self.status.apply(events)
            self.status.apply(outputs)
            pending.clear()

        for step in self.journal.replay_steps(after_seq=after_seq, ticked_to=ticked_to):
            if step.event is not None:
                pending.append((step.seq, step.event))
                count += 1
                if len(pending) >= 5000:
                    flush()
            else:
                flush()
                assert step.tick_ms is not None
                self.status.apply(self.engine.tick(step.tick_ms))
                self._ticked_to = step.tick_ms
        flush()
        self.clock.observe(self.journal.last_ts)
        self.stats.replayed_events = count
        self.stats.replay_seconds = time.perf_counter() - started
        log.info("engine rebuilt from journal", extra={"fields": {
            "resumed_from_seq": after_seq, "events": count, "seconds": round(self.stats.replay_seconds, 3),
            "last_seq": self.journal.last_seq}})

    def _resume(self, snap: Snapshot | None) -> tuple[int, int]:
        """Engine and zone status from a snapshot; returns where the replay goes on from."""
        if snap is None:
            return 0, -1
        try:
            engine = CustodyEngine.restore(self.engine.site, snap.engine, self.engine.core.name)
            status = ZoneStatus.from_json(snap.status, self.status)
        except (SnapshotMismatch, SnapshotError) as exc:
            # e.g. the site config changed, the other core is running now, the snapshot is of an
            # older format or has no desk view: the journal is the record, the snapshot only a
            # shortcut, so replay everything instead.
            log.warning("engine snapshot not usable, replaying the whole journal", extra={"fields": {
                "after_seq": snap.after_seq, "reason": str(exc)}})
            return 0, -1
        self.engine = engine
        self.status = status
        self._ticked_to = snap.ticked_to
        self.stats.resumed_from_seq = snap.after_seq
        return snap.after_seq, snap.ticked_to

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
        intake = self._intake
        while True:
            if not intake:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), self.tick_interval_s)
                except TimeoutError:
                    await self._send(writer, self._tick())
                    continue
            batch = []
            stop = False
            while intake and len(batch) < self.batch_max:
                item = intake.popleft()
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            if batch:
                await self._send(writer, self._apply(batch))
            if stop:
                while intake:  # anything queued behind the stop marker is still applied
                    rest = [intake.popleft() for _ in range(min(len(intake), self.batch_max))]
                    await self._send(writer, self._apply([i for i in rest if i is not _STOP]))
                return

    async def _send(self, writer: asyncio.Task[None], write: _Write | None) -> None:
        if write is None:
            return
        if writer.done():
            writer.result()
            raise JournalError("journal writer ended")
        await self._writes.put(write)

    def _tick(self) -> _Write | None:
        target = self.clock.now() - 1
        if target <= self._ticked_to:
            return None
        outputs = self.engine.tick(target)
        self._ticked_to = target
        if not outputs:
            return None
        write = _Write(tick_ms=target)
        write.items = [(o.get("ts", target), o["kind"], o) for o in outputs]
        write.records = outputs
        return write

    def _apply(self, batch: list[Any]) -> _Write:
        """Feed the engine; collect the entries to journal and the answers to give after."""
        write = _Write(submitted=len(batch))
        items, records = write.items, write.records
        segment: list[_DeviceEvent] = []
        batch_ts = self.clock.last_ms
        feed = self.engine.feed

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
                    add(events[start:bad], self.engine.pending)
                    write.rejected.append((segment[bad], str(exc)))
                    start = bad + 1
            segment.clear()

        for item in batch:
            if type(item) is _DeviceEvent:
                segment.append(item)
                continue
            flush_devices()
            if isinstance(item, _Health):
                items.append((item.ts, "health", item.body))
                continue
            try:
                precheck(self.engine, item.event, self.status.view)
                outputs = feed([item.event])
            except (DeskRejected, EventError) as exc:
                write.refusals.append((item.future, exc))
                continue
            position = len(items)
            add([item.event], outputs)
            write.answers.append((item.future, position, item.event, outputs))
        flush_devices()
        self._since_snapshot += len(items)
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            # Taken now, before the engine sees the next batch, and committed with this batch's
            # entries, so it is exactly the state right after them.
            write.engine_snapshot = (self._ticked_to, self.engine.snapshot())
            self._since_snapshot = 0
        return write

    async def _writer(self) -> None:
        while True:
            write = await self._writes.get()
            if write is None:
                return
            try:
                await self._commit(write)
            except Exception as exc:
                # The engine has moved past what the journal holds: stop rather than run on
                # unrecorded state. A restart rebuilds the engine from the journal.
                self.stats.last_error = f"journal write failed: {type(exc).__name__}: {exc}"
                log.critical("journal write failed; stopping", extra={"fields": {"error": self.stats.last_error}})
                for future, _, _, _ in write.answers:
                    if not future.done():
                        future.set_exception(JournalError(self.stats.last_error))
                raise

    async def _commit(self, write: _Write) -> None:
        first_seq = 0
        # Zone status follows the journal write by write; it is updated before the append so that
        # a snapshot committed with this write holds the status as of this write.
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
        for listener in self.listeners:
            listener(write.records, changed)
        self._committed += write.submitted
        self._committed_changed.set()
