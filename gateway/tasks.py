"""Supervised long-lived tasks: whatever ends a task, it is logged and the task restarts with backoff.

    uplink = SupervisedTask("uplink", uplink.run)
    uplink.start()
    ...
    uplink.figures()   # {"state": "running", "restarts": 2, "last_error": "...", "last_error_at": ...}

A long-lived task of the gateway (uplink, health, checkpoint, MQTT outputs, desk API) never ends
on its own: an exception or a return is a fault. Each one is logged at ERROR with its traceback
and the task body is started again after an exponential backoff with jitter (drivers/base.py's
Backoff); a run that lasted `healthy_after_s` resets the backoff, so a fault days later restarts
quickly. The figures go into the gateway's health (journal, MQTT, desk API), so a task that keeps
failing shows there, not only in the log. Cancelling the asyncio task (shutdown) stops it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from drivers.base import Backoff

log = logging.getLogger("gateway.tasks")


class SupervisedTask:
    def __init__(
        self,
        name: str,
        body: Callable[[], Awaitable[Any]],
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        healthy_after_s: float = 60.0,
        before_restart: Callable[[], Awaitable[Any]] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self.name = name
        self.body = body
        self.backoff = Backoff(backoff_initial_s, backoff_max_s)
        self.healthy_after_s = healthy_after_s
        self.before_restart = before_restart  # e.g. tear down what the failed run left behind
        self.stopping = stopping  # true while the gateway shuts down: an ending body is then no fault
        self.state = "not started"
        self.restarts = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self._supervise(), name=self.name)
        return self.task

    def figures(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }

    async def _supervise(self) -> None:
        try:
            restarting = False
            while True:
                started = time.monotonic()
                self.state = "running"
                exc: BaseException | None = None
                try:
                    if restarting and self.before_restart is not None:
                        await self.before_restart()
                    restarting = True
                    await self.body()
                    error = "ended unexpectedly (a long-lived task returned)"
                except asyncio.CancelledError:
                    raise
                except Exception as failure:  # noqa: BLE001 - any fault of the body: logged below, then restarted
                    exc = failure
                    error = f"{type(failure).__name__}: {failure}"
                if self.stopping is not None and self.stopping():
                    return
                if time.monotonic() - started >= self.healthy_after_s:
                    self.backoff.reset()
                delay = self.backoff.next_delay()
                self.state = "restarting"
                self.last_error, self.last_error_at = error, time.time()
                log.error(
                    "task %s failed; restarting in %.1f s",
                    self.name,
                    delay,
                    exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
                    extra={
                        "fields": {
                            "task": self.name,
                            "error": error,
                            "restarts": self.restarts,
                            "restart_in_s": round(delay, 2),
                        }
                    },
                )
                await asyncio.sleep(delay)
                self.restarts += 1
        finally:
            self.state = "stopped"
