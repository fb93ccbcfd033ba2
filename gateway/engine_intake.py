"""The engine task's intake: producers (drivers, the desk API, the health reporter) append
stamped items, the engine task takes them in batches. All on the event loop thread, so the
stamping order is the intake order is the engine's order."""
from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.clock import GatewayClock


@dataclass
class DeviceEvent:
    event: dict[str, Any]
    source: str


@dataclass(frozen=True)
class DeskResult:
    seq: int
    event: dict[str, Any]
    outputs: list[dict[str, Any]]


@dataclass
class DeskEvent:
    event: dict[str, Any]
    future: asyncio.Future[DeskResult]


@dataclass
class Health:
    ts: int
    body: dict[str, Any]


Item = DeviceEvent | DeskEvent | Health
_STOP = object()


class Intake:
    def __init__(self, clock: GatewayClock) -> None:
        self.clock = clock
        # Called with each device event as it arrives, before the engine (the desk console's
        # enrolment reader sees reads of tags nobody wears, which the engine drops).
        self.device_taps: list[Callable[[dict[str, Any]], None]] = []
        self._queue: collections.deque[Any] = collections.deque()
        self._arrived = asyncio.Event()
        self.submitted = 0  # items put so far (the stop marker not counted)

    def _put(self, item: Item) -> None:
        self._queue.append(item)
        self.submitted += 1
        self._arrived.set()

    def device(self, event: dict[str, Any], source: str) -> None:
        stamped = dict(event)  # the driver's dict stays the driver's
        stamped["ts"] = self.clock.now()
        self._put(DeviceEvent(stamped, source))
        for tap in self.device_taps:
            tap(stamped)

    def desk(self, event: dict[str, Any]) -> asyncio.Future[DeskResult]:
        stamped = dict(event)
        stamped["ts"] = self.clock.now()
        future: asyncio.Future[DeskResult] = asyncio.get_running_loop().create_future()
        self._put(DeskEvent(stamped, future))
        return future

    def health(self, body: dict[str, Any]) -> None:
        self._put(Health(self.clock.now(), body))

    def stop(self) -> None:
        """Everything put before this is still taken; then `take` reports the stop."""
        self._queue.append(_STOP)
        self._arrived.set()

    def __bool__(self) -> bool:
        return bool(self._queue)

    async def wait(self, timeout_s: float) -> bool:
        """Until something is queued (True) or `timeout_s` passed with nothing (False)."""
        if self._queue:
            return True
        self._arrived.clear()
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def take(self, batch_max: int) -> tuple[list[Item], bool]:
        """Up to `batch_max` items in order, and whether the stop marker was reached (the items
        queued behind it come in later calls, still in order)."""
        queue = self._queue
        batch: list[Item] = []
        while queue and len(batch) < batch_max:
            item = queue.popleft()
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False
