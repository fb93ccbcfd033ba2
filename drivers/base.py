"""The async driver interface every device driver builds on.

`Driver` owns the life cycle that all devices share: connect, run a session until the
device goes away, back off with jitter, reconnect; keep health counters; close cleanly
and idempotently. Subclasses only do I/O and decode frames (`_connect`, `_session`,
`_disconnect`) and report what they saw through `_frame_good`, `_frame_bad` and `_emit`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

log = logging.getLogger("drivers")

Emit = Callable[[dict[str, Any]], None]


class DeviceError(Exception):
    """The device or its link failed; the driver closes, backs off and reconnects."""


class DeviceDisconnected(DeviceError):
    """The port, socket or broker went away."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class WiringBase(BaseModel):
    """Fields every `devices:` entry has; drivers subclass it with their own wiring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    driver: str | None = None
    profile: str | None = None
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        """(kind, id) of each site object this device reports about (kinds: reader, bank, door,
        camera); the site must declare every one. `declared` is what the site declares.

        Every driver's wiring answers, even with an empty list: a default here would let the
        wiring check pass over a new driver without a word."""
        raise NotImplementedError(f"{type(self).__name__} does not say which site objects its device reports about")


class SettingsBase(BaseModel):
    """A profile's `settings:`; drivers subclass it with their frame options or register map."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Backoff:
    """Exponential backoff with full jitter, so many devices that fail together do not retry together."""

    initial_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * (2**self.attempt))
        self.attempt += 1
        # Half fixed, half random: never zero (no reconnect storm), never above the ceiling.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class Health:
    connected: bool = False
    last_frame_at: float | None = None  # wall clock (time.time()) of the last valid frame
    frames_good: int = 0
    frames_bad: int = 0
    frames_ignored: int = 0  # valid frames about things this site does not wire (other readers, cameras)
    reconnects: int = 0
    last_error: str | None = None
    last_bad_frame: str | None = None  # "reason: hex" of the latest rejected frame

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait until it has really ended.

    Python 3.11's `asyncio.wait_for` can lose a cancellation that races with the inner
    future completing (fixed in 3.12), and pymodbus and our reads use it; so cancel again
    until the task is done instead of trusting a single cancel.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        log.warning("task %s ended with %s: %s", task.get_name(), type(exc).__name__, exc)


class Driver(ABC):
    """One device (or one bus endpoint) run as one asyncio task."""

    Wiring: ClassVar[type[WiringBase]] = WiringBase
    Settings: ClassVar[type[SettingsBase]] = SettingsBase

    def __init__(self, wiring: WiringBase, settings: SettingsBase, emit: Emit) -> None:
        self.wiring = wiring
        self.settings = settings
        self.id = wiring.id
        self.health = Health()
        self._emit_callback = emit
        self._backoff = Backoff(wiring.backoff_initial_s, wiring.backoff_max_s)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._ever_connected = False
        self.connected_event = asyncio.Event()
        self._health_changed = asyncio.Event()

    # ---- life cycle -------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._closed:
            raise RuntimeError(f"device {self.id}: start() after close()")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"driver:{self.id}")
        return self._task

    async def close(self) -> None:
        """Stop the task and release the device; safe to call any number of times."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)
        await self._safe_disconnect()

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self.connected_event.wait(), timeout)

    async def wait_health(self, predicate: Callable[[Health], bool], timeout: float) -> None:
        """Until `predicate(health)` holds; woken by every health change, not by polling."""

        async def waiter() -> None:
            while not predicate(self.health):
                self._health_changed.clear()
                await self._health_changed.wait()

        await asyncio.wait_for(waiter(), timeout)

    async def wait_frames(self, count: int, timeout: float) -> None:
        await self.wait_health(lambda h: h.frames_good >= count, timeout)

    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._connect()
                if self._ever_connected:
                    self.health.reconnects += 1
                self._ever_connected = True
                self.health.connected = True
                self.health.last_error = None
                self.connected_event.set()
                self._health_changed.set()
                log.info("device %s: connected", self.id)
                await self._session()
                # A session that returns normally ended because the device went away quietly.
                raise DeviceDisconnected("session ended")
            except (DeviceError, OSError) as exc:
                self.health.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("device %s: %s", self.id, self.health.last_error)
            finally:
                was_connected = self.health.connected
                self.health.connected = False
                self.connected_event.clear()
                self._health_changed.set()
                await self._safe_disconnect()
            if was_connected:
                # It worked for a while: start the backoff from the bottom again.
                self._backoff.reset()
            delay = self._backoff.next_delay()
            log.info("device %s: reconnecting in %.2fs", self.id, delay)
            await asyncio.sleep(delay)

    async def _safe_disconnect(self) -> None:
        try:
            await self._disconnect()
        except (DeviceError, OSError) as exc:
            # Closing a link that already broke may fail again; the link is gone either way.
            log.info("device %s: error while closing: %s", self.id, exc)

    # ---- what subclasses implement ----------------------------------------------------

    @abstractmethod
    async def _connect(self) -> None:
        """Open the port/socket/session; raise DeviceError or OSError on failure."""

    @abstractmethod
    async def _session(self) -> None:
        """Read, poll and decode until the link fails (raise DeviceError)."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Release the link; must tolerate a link that is already broken or never opened."""

    # ---- helpers for subclasses ---------------------------------------------------------

    def _frame_good(self) -> None:
        self.health.frames_good += 1
        self.health.last_frame_at = time.time()
        self._health_changed.set()

    def _frame_bad(self, reason: str, frame: bytes | str = b"") -> None:
        self.health.frames_bad += 1
        shown = frame.hex(" ") if isinstance(frame, bytes | bytearray) else repr(frame)
        self.health.last_bad_frame = f"{reason}: {shown}"
        self._health_changed.set()
        log.info("device %s: dropped frame (%s): %s", self.id, reason, shown)

    def _emit(self, event: dict[str, Any]) -> None:
        self._emit_callback(event)
