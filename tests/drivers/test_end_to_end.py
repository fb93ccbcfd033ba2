"""End to end: a hand-written §6.2 event list drives simulators on real ptys, real pymodbus
servers and a real Mosquitto; the drivers must report exactly those events, in order."""

from __future__ import annotations

import pytest

from drivers.sim.player import SimulatedSite

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

SITE = """
site: {{id: e2e}}
devices:
  - {{id: rdr-entry, profile: rdm6300, port: "{tmp}/rdr-entry"}}
  - {{id: rdr-int1, profile: chafon-uhfreader18, port: "{tmp}/rdr-int1", settings: {{poll_interval_s: 0.05}}}}
  - {{id: act-line, profile: active-2g4-dollar, port: "{tmp}/act-line", readers: {{"A7": rdr-wait1, "B2": rdr-wait2}}}}
  - {{id: badge-ev-a, profile: rdm6300, port: "{tmp}/badge-ev-a", event: badge, bank: ev-a}}
  - {{id: kerong-b, profile: kerong-kr-cu16, port: "{tmp}/kerong-b", board: 1, bank: ev-b, settings: {{poll_interval_s: 0.05}}}}
  - {{id: board-a, profile: generic-lockboard-16, url: "tcp://127.0.0.1:0", unit: 1, bank: ev-a, poll_interval_s: 0.05}}
  - {{id: doors, profile: generic-door-2, url: "socket://127.0.0.1:{rtu_port}", unit: 3, doors: [door-main, door-exit], poll_interval_s: 0.05}}
  - {{id: nvr-1, profile: frigate, broker: "{broker}", cameras: {{int1_a: cam-int1a, entry: cam-entry}}}}
"""

EVENTS = [
    {"type": "camera", "camera": "cam-int1a", "state": "recording"},
    {"type": "tag_seen", "reader": "rdr-entry", "tag": "0A00123456"},
    {"type": "door", "door": "door-main", "state": "open"},
    {"type": "badge", "reader": "door-main", "tag": "0500A1B2C3"},
    {"type": "door", "door": "door-main", "state": "closed"},
    {"type": "tag_seen", "reader": "rdr-int1", "tag": "E2801160600002086F5B7D21"},
    {"type": "tag_seen", "reader": "rdr-wait1", "tag": "00AB12", "rssi": -61},
    {"type": "tag_seen", "reader": "rdr-wait2", "tag": "00AB13", "rssi": -75},
    {"type": "badge", "bank": "ev-a", "tag": "0B00000042"},
    {"type": "locker", "bank": "ev-a", "slot": 3, "state": "open"},
    {"type": "locker", "bank": "ev-a", "slot": 3, "state": "closed", "items": ["EV-000017"]},
    {"type": "locker", "bank": "ev-b", "slot": 16, "state": "open"},
    {"type": "locker", "bank": "ev-b", "slot": 16, "state": "closed"},
    {"type": "door", "door": "door-exit", "state": "forced"},
    {"type": "camera", "camera": "cam-entry", "state": "offline"},
    {"type": "camera", "camera": "cam-entry", "state": "online"},
    {"type": "camera", "camera": "cam-int1a", "state": "stopped"},
    {"type": "tag_seen", "reader": "rdr-entry", "tag": "0A00123456"},  # a repeated read is reported again
]


async def test_simulated_events_come_back_exactly(write_site, broker, collector):
    from drivers.sim.broker import free_loopback_port

    specs = write_site(SITE, broker=broker.url, rtu_port=free_loopback_port())
    site = SimulatedSite(specs)
    live_specs = await site.start()
    drivers = [spec.create(collector) for spec in live_specs]
    try:
        for driver in drivers:
            driver.start()
        for driver in drivers:
            await driver.wait_connected(5)
        # Frigate announces itself `online`: the driver reports that once per camera at start.
        await collector.wait_until(lambda evs: len(evs) >= 2, what="frigate availability")
        assert sorted(e["camera"] for e in collector.events) == ["cam-entry", "cam-int1a"]
        assert {e["state"] for e in collector.events} == {"online"}
        # Polled devices report state on change after their first poll: wait for it.
        for driver in drivers:
            if driver.id in ("board-a", "doors", "kerong-b"):
                await driver.wait_frames(1, 5)
        collector.clear()
        played = 0

        async def reported(event):
            nonlocal played
            played += 1
            await collector.wait_until(lambda evs: len(evs) >= played, what=f"report of {event}")

        produced = await site.play(EVENTS, after_each=reported)
        assert produced == len(EVENTS)
        assert collector.events == EVENTS
        for driver in drivers:
            assert driver.health.frames_bad == 0, (driver.id, driver.health)
    finally:
        for driver in drivers:
            await driver.close()
        await site.stop()


async def test_an_event_no_simulator_produces_is_an_error_naming_it(write_site, broker):
    from drivers.sim.broker import free_loopback_port
    from drivers.sim.player import PlaybackError

    site = SimulatedSite(write_site(SITE, broker=broker.url, rtu_port=free_loopback_port()))
    await site.start()
    try:
        events = [
            {"type": "tag_seen", "reader": "rdr-entry", "tag": "0A00123456"},
            {"type": "checkin", "person": "p1"},  # not device traffic: passed over
            {"type": "tag_seen", "reader": "rdr-nowhere", "tag": "0A00123456"},
        ]
        with pytest.raises(PlaybackError, match=r"event #2 .*no simulated device produces tag_seen for 'rdr-nowhere'"):
            await site.play(events)
    finally:
        await site.stop()
