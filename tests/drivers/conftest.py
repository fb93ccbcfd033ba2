"""Fixtures for driver tests: a real Mosquitto, an event collector, site files in tmp_path."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.config import DeviceSpec, load_devices
from drivers.sim.broker import MosquittoBroker, find_mosquitto, start_test_broker


class Collector:
    """The `emit` callback of drivers under test; waits are woken by emits, not by polling."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_until(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        async def waiter() -> None:
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(waiter(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {self.events}") from None

    async def wait_for_event(self, event: dict[str, Any], timeout: float = 5.0, start: int = 0) -> int:
        """Index of the first occurrence of `event` at or after `start`."""
        await self.wait_until(lambda evs: event in evs[start:], timeout, f"event {event}")
        return self.events.index(event, start)

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
async def broker() -> AsyncIterator[MosquittoBroker]:
    if os.environ.get("CI") and find_mosquitto() is None:
        pytest.fail("CI: mosquitto is required for driver tests (scripts/system-deps.sh installs it)")
    b = await start_test_broker()
    try:
        yield b  # type: ignore[misc]
    finally:
        await b.stop()


@pytest.fixture
def write_site(tmp_path: Path) -> Callable[..., list[DeviceSpec]]:
    """Write a site YAML (with {tmp} and any other str.format fields filled) and load its devices."""

    def make(text: str, **fields: Any) -> list[DeviceSpec]:
        path = tmp_path / "site.yaml"
        path.write_text(text.format(tmp=tmp_path, **fields), encoding="utf-8")
        return load_devices(path)

    return make


def require_tool(name: str) -> str:
    """A Debian tool a test talks to: under CI its absence fails the test, elsewhere it skips."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
