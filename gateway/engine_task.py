"""The engine task: the only owner of the CustodyEngine and the only journal writer.

Drivers and the desk API put stamped events on one asyncio.Queue; this task takes them in
small batches (whatever has queued up, at most `batch_max`), feeds the engine, journals the
events and their outputs in one transaction, and only then answers the desk, publishes on
MQTT and wakes the uplink. When nothing arrives for `tick_interval_s` it ticks the engine to
`now - 1` ms (the engine fires timers with deadline < ts before an event at ts, so ticking to
now-1 keeps live operation identical to a replay) and journals the tick if it produced output.

A device event the engine refuses (unknown reader, ...) is logged with its device, counted,
and kept in the journal's `rejected` table; the events around it in the batch are applied.
A desk event the engine refuses is answered with the reason and changes nothing.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core_ext.api import CustodyEngine, EventError
from gateway.clock import GatewayClock
from gateway.desk_checks import DeskRejected, precheck
from gateway.journal import Journal, JournalError
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
class EngineStats:
    events: int = 0
    outputs: int = 0
    rejected_device_events: int = 0
    rejected_desk_requests: int = 0
    batches: int = 0
    ticks_with_output: int = 0
    last_error: str | None = None
    replayed_events: int = 0
    replay_seconds: float = 0.0
    alerts_raised: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


_STOP = object()


class EngineRunner:
    def __init__(self, engine: CustodyEngine, journal: Journal, clock: GatewayClock, status: ZoneStatus,
                 batch_max: int = 2000, tick_interval_s: float = 0.1) -> None:
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.status = status
        self.batch_max = batch_max
        self.tick_interval_s = tick_interval_s
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.listeners: list[CommitListener] = []
        self.stats = EngineStats()
        self._ticked_to = -1

    # ---- producers (all on the event loop thread, so stamping order == queue order) --------------

    def submit_device(self, event: dict[str, Any], source: str) -> None:
        stamped = dict(event)
        stamped["ts"] = self.clock.now()
        self.queue.put_nowait(_DeviceEvent(stamped, source))

    async def submit_desk(self, event: dict[str, Any]) -> DeskResult:
        stamped = dict(event)
        stamped["ts"] = self.clock.now()
        future: asyncio.Future[DeskResult] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(_DeskEvent(stamped, future))
        return await future

    def submit_health(self, body: dict[str, Any]) -> None:
        self.queue.put_nowait(_Health(self.clock.now(), body))

    def stop(self) -> None:
        self.queue.put_nowait(_STOP)

    # ---- restart: rebuild the engine from the journal -----------------------------------------

    def rebuild(self) -> None:
        """Replay every journaled event and tick; the engine and zone status end where they were."""
        started = time.perf_counter()
        pending: list[tuple[int, dict[str, Any]]] = []
        count = 0

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

        for step in self.journal.replay_steps():
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
            "events": count, "seconds": round(self.stats.replay_seconds, 3), "last_seq": self.journal.last_seq}})

    # ---- the task -------------------------------------------------------------------------------

    async def run(self) -> None:
        queue = self.queue
        while True:
            if queue.empty():
                try:
                    first = await asyncio.wait_for(queue.get(), self.tick_interval_s)
                except TimeoutError:
                    await self._tick()
                    continue
            else:
                first = queue.get_nowait()
            batch = [first]
            while len(batch) < self.batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            stop = any(item is _STOP for item in batch)
            await self._process([item for item in batch if item is not _STOP])
            for _ in batch:
                queue.task_done()  # `await queue.join()` returns once all is journaled
            if stop:
                # Whatever was queued behind the stop marker is still applied before leaving.
                rest = []
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is not _STOP:
                        rest.append(item)
                await self._process(rest)
                for _ in range(len(rest)):
                    queue.task_done()
                return

    async def _tick(self) -> None:
        target = self.clock.now() - 1
        if target <= self._ticked_to:
            return
        outputs = self.engine.tick(target)
        self._ticked_to = target
        if not outputs:
            return
        items = [(o.get("ts", target), o["kind"], o) for o in outputs]
        await asyncio.to_thread(self.journal.append, items, target)
        self.stats.ticks_with_output += 1
        self._committed(outputs)

    async def _process(self, batch: list[Any]) -> None:
        if not batch:
            return
        items: list[tuple[int, str, Any]] = []
        records: list[dict[str, Any]] = []
        answers: list[tuple[asyncio.Future[DeskResult], int, dict[str, Any], list[dict[str, Any]]]] = []
        refusals: list[tuple[asyncio.Future[DeskResult], Exception]] = []
        rejected: list[tuple[_DeviceEvent, str]] = []
        segment: list[_DeviceEvent] = []
        batch_ts = self.clock.last_ms

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
                    add(events[start:], self.engine.feed(events[start:]))
                    break
                except EventError as exc:
                    bad = start + (exc.index or 0)
                    add(events[start:bad], self.engine.pending)
                    rejected.append((segment[bad], str(exc)))
                    start = bad + 1
            segment.clear()

        for item in batch:
            if isinstance(item, _DeviceEvent):
                segment.append(item)
                continue
            flush_devices()
            if isinstance(item, _Health):
                items.append((item.ts, "health", item.body))
                continue
            try:
                precheck(self.engine, item.event)
                outputs = self.engine.feed([item.event])
            except (DeskRejected, EventError) as exc:
                refusals.append((item.future, exc))
                continue
            position = len(items)
            add([item.event], outputs)
            answers.append((item.future, position, item.event, outputs))
        flush_devices()

        try:
            first_seq, _ = await asyncio.to_thread(self.journal.append, items) if items else (0, 0)
            for device_event, error in rejected:
                await asyncio.to_thread(self.journal.record_rejected, device_event.event["ts"],
                                        device_event.source, device_event.event, error)
        except Exception as exc:
            # The engine has moved past what the journal holds: stop rather than run on
            # unrecorded state. A restart rebuilds the engine from the journal.
            self.stats.last_error = f"journal write failed: {exc}"
            for future, _, _, _ in answers:
                if not future.done():
                    future.set_exception(JournalError(self.stats.last_error))
            raise
        for future, exc in refusals:
            self.stats.rejected_desk_requests += 1
            if not future.done():
                future.set_exception(exc)
        for device_event, error in rejected:
            self.stats.rejected_device_events += 1
            log.warning("device event refused by the engine", extra={"fields": {
                "device": device_event.source, "event": device_event.event, "error": error}})
        for future, position, event, outputs in answers:
            if not future.done():
                future.set_result(DeskResult(first_seq + position, event, outputs))
        self.stats.batches += 1
        self.stats.events += sum(1 for _, kind, _ in items if kind == "event")
        self.stats.outputs += sum(1 for _, kind, _ in items if kind not in ("event", "health"))
        self._committed(records)

    def _committed(self, records: list[dict[str, Any]]) -> None:
        changed = self.status.apply(records)
        for record in records:
            if record.get("kind") == "alert" and record.get("state") == "raised":
                self.stats.alerts_raised += 1
        for listener in self.listeners:
            listener(records, changed)
