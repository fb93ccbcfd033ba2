"""The demo sites' `devices:` blocks, run against their simulators (ports moved to tmp_path
and a free Modbus port, broker replaced by the test's Mosquitto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.config import load_devices
from drivers.sim.player import SimulatedSite

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(90)]
SITES = Path(__file__).resolve().parents[2] / "firmware_configs" / "sites"

EVENTS = {
    "demo-area": [
        {"type": "tag_seen", "reader": "rdr-entry", "tag": "0B00000001"},
        {"type": "door", "door": "door-main", "state": "open"},
        {"type": "door", "door": "door-main", "state": "closed"},
        {"type": "tag_seen", "reader": "rdr-corr-s", "tag": "0B00000001", "rssi": -58},
        {"type": "tag_seen", "reader": "rdr-int2", "tag": "0B00000001"},
        {"type": "badge", "bank": "belong-a", "tag": "0C00000002"},
        {"type": "locker", "bank": "belong-a", "slot": 20, "state": "open"},
        {"type": "locker", "bank": "belong-a", "slot": 20, "state": "closed", "items": ["EV-000020"]},
        {"type": "camera", "camera": "cam-med", "state": "recording"},
        {"type": "badge", "reader": "door-exit", "tag": "0C00000002"},
    ],
    "demo-property": [
        {"type": "tag_seen", "reader": "rdr-lobby", "tag": "0C00000003"},
        {"type": "badge", "reader": "door-store", "tag": "0C00000003"},
        {"type": "door", "door": "door-store", "state": "open"},
        {"type": "door", "door": "door-store", "state": "closed"},
        {"type": "tag_seen", "reader": "rdr-store", "tag": "0C00000003"},
        {"type": "badge", "bank": "ev-b", "tag": "0C00000003"},
        {"type": "locker", "bank": "ev-b", "slot": 4, "state": "open"},
        {"type": "locker", "bank": "ev-b", "slot": 4, "state": "closed"},
        {"type": "locker", "bank": "ev-a", "slot": 16, "state": "open"},
        {"type": "locker", "bank": "ev-a", "slot": 16, "state": "closed", "items": ["EV-000001"]},
        {"type": "camera", "camera": "cam-store-2", "state": "recording"},
    ],
}


@pytest.mark.parametrize("site_name", sorted(EVENTS))
async def test_demo_site_devices_report_what_their_simulators_do(site_name, tmp_path, broker, collector):
    path = SITES / f"{site_name}.yaml"
    overrides = {}
    for spec in load_devices(path):
        w = spec.wiring
        if hasattr(w, "port"):
            overrides[spec.id] = {"port": str(tmp_path / spec.id)}
        elif hasattr(w, "url"):
            overrides[spec.id] = {"url": "tcp://127.0.0.1:0"}
        elif hasattr(w, "broker"):
            overrides[spec.id] = {"broker": broker.url}
    site = SimulatedSite(load_devices(path, overrides=overrides))
    specs = await site.start()
    drivers = [spec.create(collector) for spec in specs]
    try:
        for driver in drivers:
            driver.start()
        for driver in drivers:
            await driver.wait_frames(1, 10) if driver.__class__.__name__ not in (
                "Em4100SerialDriver",
                "AsciiLineSerialDriver",
                "FrigateMqttDriver",
            ) else await driver.wait_connected(10)
        cameras = len(next(s for s in specs if s.driver_name == "frigate_mqtt").wiring.cameras)
        await collector.wait_until(lambda evs: len(evs) >= cameras, what="frigate availability")
        collector.clear()
        played = 0

        async def reported(event):
            nonlocal played
            played += 1
            await collector.wait_until(lambda evs: len(evs) >= played, what=f"report of {event}")

        await site.play(EVENTS[site_name], after_each=reported)
        assert collector.events == EVENTS[site_name]
    finally:
        for driver in drivers:
            await driver.close()
        await site.stop()
