"""NVR drivers against a real Mosquitto started by the test."""

from __future__ import annotations

import json

import pytest

from drivers.sim.player import SimulatedSite

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

NVRS = """
site: {{id: t}}
devices:
  - {{id: nvr-1, profile: frigate, broker: "{broker}", cameras: {{int1_a: cam-int1a, int1_b: cam-int1b}},
      backoff_initial_s: 0.1, backoff_max_s: 0.5}}
  - {{id: bridge, profile: json-nvr-bridge, broker: "{broker}", cameras: {{lobby: cam-lobby}}}}
"""


async def _start(write_site, broker, collector):
    site = SimulatedSite(write_site(NVRS, broker=broker.url))
    specs = await site.start()
    drivers = {spec.id: spec.create(collector) for spec in specs}
    for driver in drivers.values():
        driver.start()
    for driver in drivers.values():
        await driver.wait_connected(5)
    await collector.wait_until(lambda evs: len(evs) >= 2, what="frigate availability")
    return site, drivers


async def _stop(site, drivers):
    for driver in drivers.values():
        await driver.close()
    await site.stop()


async def test_frigate_topics_become_camera_events_once_per_change(write_site, broker, collector):
    site, drivers = await _start(write_site, broker, collector)
    try:
        assert sorted(collector.events, key=lambda e: e["camera"]) == [
            {"type": "camera", "camera": "cam-int1a", "state": "online"},
            {"type": "camera", "camera": "cam-int1b", "state": "online"},
        ]
        collector.clear()
        frigate = site.devices["nvr-1"]
        events = [
            {"type": "camera", "camera": "cam-int1a", "state": "recording"},
            {"type": "camera", "camera": "cam-lobby", "state": "recording"},
            {"type": "camera", "camera": "cam-int1b", "state": "offline"},
            {"type": "camera", "camera": "cam-lobby", "state": "offline"},
            {"type": "camera", "camera": "cam-int1a", "state": "stopped"},
        ]
        played = 0

        async def reported(event):
            nonlocal played
            played += 1
            await collector.wait_until(lambda evs: len(evs) >= played, what=str(event))

        await site.play(events, after_each=reported)
        # The same state again (Frigate republishes retained state) is not a change.
        await frigate.publish("frigate/int1_a/recordings/state", "OFF")
        await frigate.detection("int1_a")  # detections are checked and counted, not camera events
        await frigate.publish("frigate/unknown_cam/recordings/state", "ON")  # not wired here
        await frigate.publish("frigate/events", "{not json", retain=False)
        nvr = drivers["nvr-1"]
        await nvr.wait_health(lambda h: h.frames_bad >= 1, 5)
        assert collector.events == events
        assert nvr.health.frames_ignored == 1
        assert "not JSON" in nvr.health.last_bad_frame
    finally:
        await _stop(site, drivers)


async def test_nvr_last_will_reports_cameras_offline(write_site, broker, collector):
    site, drivers = await _start(write_site, broker, collector)
    try:
        collector.clear()
        await site.devices["nvr-1"].stop(clean=False)  # the NVR dies: the broker publishes its will
        await collector.wait_until(lambda evs: len(evs) >= 2, what="will")
        assert sorted(e["camera"] for e in collector.events) == ["cam-int1a", "cam-int1b"]
        assert {e["state"] for e in collector.events} == {"offline"}
    finally:
        await _stop(site, drivers)


async def test_broker_restart_reconnects_and_resubscribes(write_site, broker, collector):
    site, drivers = await _start(write_site, broker, collector)
    try:
        nvr = drivers["nvr-1"]
        await broker.restart()
        await nvr.wait_health(lambda h: h.connected and h.reconnects >= 1, 15)
        collector.clear()
        frigate = site.devices["nvr-1"]
        # The simulator's paho client reconnects on its own; publish once it is back.
        await frigate.wait_connected(15)
        event = {"type": "camera", "camera": "cam-int1b", "state": "recording"}
        await site.apply(event)
        await collector.wait_for_event(event, timeout=10)
    finally:
        await _stop(site, drivers)


async def test_json_bridge_rejects_unknown_states(write_site, broker, collector):
    site, drivers = await _start(write_site, broker, collector)
    try:
        bridge = site.devices["bridge"]
        await bridge.publish("nvr/lobby/state", json.dumps({"camera": "lobby", "state": "WEIRD"}), retain=False)
        await drivers["bridge"].wait_health(lambda h: h.frames_bad >= 1, 5)
        assert "unknown state" in drivers["bridge"].health.last_bad_frame
    finally:
        await _stop(site, drivers)
