"""Peers nobody here wrote: Debian's mbpoll polls and commands the simulated lock board;
mosquitto_sub reads what the simulated NVR publishes; mosquitto_pub feeds the Frigate driver."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest

from drivers.sim.player import SimulatedSite
from tests.drivers.conftest import require_tool

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

BOARD = """
site: {{id: t}}
devices:
  - {{id: board, profile: generic-lockboard-16, url: "tcp://127.0.0.1:0", unit: 4, bank: ev-a}}
  - {{id: nvr, profile: frigate, broker: "{broker}", cameras: {{store_1: cam-store-1}}}}
"""


async def _run(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"{args[0]} exited {process.returncode}: {text}"
    return text


def _mbpoll_values(text: str) -> dict[int, int]:
    return {int(ref): int(value) for ref, value in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", text, re.M)}


async def test_mbpoll_reads_and_commands_the_simulated_lock_board(write_site, broker):
    mbpoll = require_tool("mbpoll")
    site = SimulatedSite(write_site(BOARD, broker=broker.url))
    (board_spec, _) = await site.start()
    try:
        port = str(urlsplit(board_spec.wiring.url).port)
        common = [mbpoll, "-m", "tcp", "-a", "4", "-p", port, "-1", "-0"]  # one poll, 0-based refs
        await site.apply({"type": "locker", "bank": "ev-a", "slot": 3, "state": "open"})
        await site.apply({"type": "locker", "bank": "ev-a", "slot": 3, "state": "closed", "items": ["EV-070000"]})
        await site.apply({"type": "locker", "bank": "ev-a", "slot": 9, "state": "open"})
        doors = _mbpoll_values(await _run(*common, "-t", "1", "-r", "0", "-c", "16", "127.0.0.1"))
        assert [ref for ref, v in doors.items() if v] == [8]  # slot 9 open, 0-based input 8
        items = _mbpoll_values(await _run(*common, "-t", "3", "-r", "16", "-c", "2", "127.0.0.1"))
        assert (items[16] << 16) | items[17] == 70000  # slot 3's first label, high word first
        await _run(*common, "-t", "0", "-r", "11", "127.0.0.1", "1")  # coil 11 releases slot 12
        assert site.devices["board"].unlocks == [12]
    finally:
        await site.stop()


async def test_mosquitto_sub_reads_the_simulated_nvr(write_site, broker):
    sub = require_tool("mosquitto_sub")
    site = SimulatedSite(write_site(BOARD, broker=broker.url))
    await site.start()
    try:
        await site.apply({"type": "camera", "camera": "cam-store-1", "state": "recording"})
        parts = urlsplit(broker.url)
        # Retained topics are delivered to a late subscriber: Frigate's availability and state.
        text = await _run(
            sub, "-h", parts.hostname, "-p", str(parts.port), "-t", "frigate/#", "-v", "-C", "2", "-W", "10"
        )
        assert sorted(text.strip().splitlines()) == ["frigate/available online", "frigate/store_1/recordings/state ON"]
    finally:
        await site.stop()


async def test_mosquitto_pub_feeds_the_frigate_driver(write_site, broker, collector):
    pub = require_tool("mosquitto_pub")
    specs = write_site(BOARD, broker=broker.url)
    nvr = next(s for s in specs if s.id == "nvr").create(collector)
    nvr.start()
    try:
        await nvr.wait_connected(5)
        parts = urlsplit(broker.url)
        await _run(
            pub,
            "-h",
            parts.hostname,
            "-p",
            str(parts.port),
            "-t",
            "frigate/store_1/recordings/state",
            "-m",
            "ON",
            "-q",
            "1",
        )
        await collector.wait_for_event({"type": "camera", "camera": "cam-store-1", "state": "recording"})
        await _run(
            pub,
            "-h",
            parts.hostname,
            "-p",
            str(parts.port),
            "-t",
            "frigate/store_1/status/record",
            "-m",
            "offline",
            "-q",
            "1",
        )
        await collector.wait_for_event({"type": "camera", "camera": "cam-store-1", "state": "offline"})
    finally:
        await nvr.close()
