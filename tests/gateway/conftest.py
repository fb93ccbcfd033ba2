"""Gateway test fixtures: a real Mosquitto (helpers live in gw_helpers.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drivers.sim.broker import MosquittoBroker, find_mosquitto, start_test_broker  # noqa: E402


@pytest.fixture
async def broker() -> AsyncIterator[MosquittoBroker]:
    if os.environ.get("CI") and find_mosquitto() is None:
        pytest.fail("CI: mosquitto is required (scripts/system-deps.sh installs it)")
    b = await start_test_broker()
    try:
        yield b  # type: ignore[misc]
    finally:
        await b.stop()
