"""Serial readers and the Kerong board on real pseudo-terminals."""

from __future__ import annotations

import pytest

from drivers.codecs import em4100, kerong
from drivers.sim.player import SimulatedSite

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

READERS = """
site: {{id: t}}
devices:
  - {{id: rdr-a, profile: rdm6300, port: "{tmp}/rdr-a", backoff_initial_s: 0.05, backoff_max_s: 0.2}}
  - {{id: rdr-uhf, profile: chafon-uhfreader18, port: "{tmp}/rdr-uhf", backoff_initial_s: 0.05,
      backoff_max_s: 0.2, settings: {{poll_interval_s: 0.02, reply_timeout_s: 0.2, max_missed_replies: 2}}}}
  - {{id: act, profile: active-2g4-dollar, port: "{tmp}/act", readers: {{"A7": rdr-wait1}}}}
  - {{id: kr, profile: kerong-kr-cu16, port: "{tmp}/kr", board: 2, bank: ev-b,
      settings: {{poll_interval_s: 0.02}}}}
"""


async def _start(write_site, collector, text=READERS, **fields):
    site = SimulatedSite(write_site(text, **fields))
    specs = await site.start()
    drivers = {spec.id: spec.create(collector) for spec in specs}
    for driver in drivers.values():
        driver.start()
    for driver in drivers.values():
        await driver.wait_connected(5)
    return site, drivers


async def _stop(site, drivers):
    for driver in drivers.values():
        await driver.close()
    await site.stop()


async def test_em4100_counts_garbage_and_bad_checksums_and_keeps_reading(write_site, collector):
    site, drivers = await _start(write_site, collector)
    try:
        port, reader = site.ptys["rdr-a"], drivers["rdr-a"]
        bad = bytearray(em4100.encode("0A00123456"))
        bad[12] ^= 0x01  # checksum digit off by one
        port.write(b"\xff\xfenoise" + bytes(bad) + em4100.encode("1122334455"))
        await collector.wait_for_event({"type": "tag_seen", "reader": "rdr-a", "tag": "1122334455"})
        assert collector.events == [{"type": "tag_seen", "reader": "rdr-a", "tag": "1122334455"}]
        assert reader.health.frames_good == 1
        assert reader.health.frames_bad >= 2
        assert "checksum" in reader.health.last_bad_frame or "STX" in reader.health.last_bad_frame
    finally:
        await _stop(site, drivers)


async def test_vanished_port_is_a_disconnect_and_the_reader_comes_back(write_site, collector):
    site, drivers = await _start(write_site, collector)
    try:
        port, reader = site.ptys["rdr-a"], drivers["rdr-a"]
        port.vanish()
        await reader.wait_health(lambda h: not h.connected, 5)
        assert reader.health.last_error is not None
        port.reappear()
        await reader.wait_health(lambda h: h.connected, 5)
        assert reader.health.reconnects == 1
        event = {"type": "tag_seen", "reader": "rdr-a", "tag": "0A00123456"}
        await site.apply(event)
        await collector.wait_for_event(event)
    finally:
        await _stop(site, drivers)


async def test_chafon_inventory_split_over_frames_and_silent_reader_reconnects(write_site, collector):
    site, drivers = await _start(write_site, collector)
    try:
        reader, sim = drivers["rdr-uhf"], site.devices["rdr-uhf"]
        epcs = [f"E28011606000020{i:09X}" for i in range(6)]  # 6 tags: 4 + 2 over two frames
        events = [{"type": "tag_seen", "reader": "rdr-uhf", "tag": epc} for epc in epcs]
        for event in events:
            await sim.apply(event)
        await collector.wait_until(lambda evs: len(evs) >= 6, what="six EPCs")
        assert collector.events == events
        assert reader.health.frames_bad == 0
        sim.mute = True
        await reader.wait_health(lambda h: not h.connected, 5)
        assert "inventory" in (reader.health.last_error or "")
        sim.mute = False
        await reader.wait_health(lambda h: h.connected and h.reconnects >= 1, 5)
        again = {"type": "tag_seen", "reader": "rdr-uhf", "tag": epcs[0]}
        start = len(collector.events)
        await sim.apply(again)
        await collector.wait_for_event(again, start=start)
    finally:
        await _stop(site, drivers)


async def test_active_reader_maps_vendor_ids_and_ignores_other_readers(write_site, collector):
    site, drivers = await _start(write_site, collector)
    try:
        port = site.ptys["act"]
        port.write(b"$ Z9 01 00FFFF 00 -40\r\n")  # a reader on the line that this site does not use
        port.write(b"$ A7 01 00ab12 00 -61\r\n")
        event = {"type": "tag_seen", "reader": "rdr-wait1", "tag": "00AB12", "rssi": -61}
        await collector.wait_for_event(event)
        assert collector.events == [event]
        assert drivers["act"].health.frames_good == 2
        assert drivers["act"].health.frames_ignored == 1
    finally:
        await _stop(site, drivers)


async def test_kerong_unlock_and_slot_reports(write_site, collector):
    site, drivers = await _start(write_site, collector)
    try:
        board, sim = drivers["kr"], site.devices["kr"]
        await board.wait_frames(1, 5)
        await board.unlock(7)
        assert sim.unlocks == [7]
        for event in (
            {"type": "locker", "bank": "ev-b", "slot": 7, "state": "open"},
            {"type": "locker", "bank": "ev-b", "slot": 7, "state": "closed"},
        ):
            start = len(collector.events)
            await site.apply(event)
            await collector.wait_for_event(event, start=start)
        # The request the board saw is the documented frame: 02 (board 2, lock 6) 31 03 SUM.
        assert kerong.encode(0x26, 0x31) == bytes([0x02, 0x26, 0x31, 0x03, (0x02 + 0x26 + 0x31 + 0x03) & 0xFF])
    finally:
        await _stop(site, drivers)


INVERTED = """
site: {{id: t}}
devices:
  - {{id: kr, profile: kerong-kr-cu16, port: "{tmp}/kr", bank: ev-b, report_initial_state: true,
      settings: {{poll_interval_s: 0.02, hook_bit_closed: 0}}}}
"""


async def test_kerong_hook_polarity_is_the_profile_setting(write_site, collector):
    """The simulated board sets hook bits to 1 for closed doors (the shipped profile); a driver
    told `hook_bit_closed: 0` must therefore read every slot as open."""
    from drivers.kerong import KerongSettings
    from drivers.sim.pty_port import PtyPort
    from drivers.sim.serial_devices import KerongBoardSim

    (spec,) = write_site(INVERTED)
    port = PtyPort(spec.wiring.port)
    port.open()
    KerongBoardSim(spec.wiring, KerongSettings(), port)  # board with 1 = closed
    driver = spec.create(collector)
    driver.start()
    try:
        await collector.wait_until(lambda evs: len(evs) >= 16, what="initial state")
        assert {e["state"] for e in collector.events} == {"open"}
        assert [e["slot"] for e in collector.events] == list(range(1, 17))
    finally:
        await driver.close()
        port.close()


async def test_random_line_noise_yields_nothing_and_the_next_frame_still_reads(write_site, collector):
    import random

    site, drivers = await _start(write_site, collector)
    try:
        noise = random.Random(4100).randbytes(64 * 1024)
        for name in ("rdr-a", "act"):
            site.ptys[name].write(noise)
        await drivers["rdr-a"].wait_health(lambda h: h.frames_bad > 100, 10)
        await drivers["act"].wait_health(lambda h: h.frames_bad > 10, 10)
        assert collector.events == []
        event = {"type": "tag_seen", "reader": "rdr-a", "tag": "0A00123456"}
        site.ptys["rdr-a"].write(b"\x03" + em4100.encode("0A00123456"))
        await collector.wait_for_event(event)
        for name in ("rdr-a", "act"):
            assert drivers[name].health.connected and drivers[name].health.reconnects == 0
    finally:
        await _stop(site, drivers)


TWO_KERONG = """
site: {{id: t}}
devices:
  - {{id: kr-0, profile: kerong-kr-cu16, port: "{tmp}/rs485", board: 0, bank: ev-b,
      settings: {{poll_interval_s: 0.02, reply_timeout_s: 0.1, max_missed_replies: 1}}}}
  - {{id: kr-1, profile: kerong-kr-cu16, port: "{tmp}/rs485", board: 1, bank: ev-b, first_slot: 17,
      settings: {{poll_interval_s: 0.02, reply_timeout_s: 0.1, max_missed_replies: 1}},
      backoff_initial_s: 0.2, backoff_max_s: 0.5}}
"""


async def test_kerong_boards_share_one_line_and_a_dead_board_leaves_the_other_working(write_site, collector):
    site, drivers = await _start(write_site, collector, TWO_KERONG)
    try:
        for driver in drivers.values():
            await driver.wait_frames(1, 5)
        assert site.ptys["kr-0"] is site.ptys["kr-1"]
        await drivers["kr-1"].unlock(20)
        assert site.devices["kr-1"].unlocks == [20] and site.devices["kr-0"].unlocks == []
        with pytest.raises(ValueError, match="outside 1..16"):
            await drivers["kr-0"].unlock(20)
        site.devices["kr-1"].mute = True
        await drivers["kr-1"].wait_health(lambda h: not h.connected, 5)
        for event in (
            {"type": "locker", "bank": "ev-b", "slot": 5, "state": "open"},
            {"type": "locker", "bank": "ev-b", "slot": 5, "state": "closed"},
        ):
            start = len(collector.events)
            await site.apply(event)
            await collector.wait_for_event(event, start=start)
        assert drivers["kr-0"].health.connected and drivers["kr-0"].health.reconnects == 0
        site.devices["kr-1"].mute = False
        await drivers["kr-1"].wait_health(lambda h: h.connected, 5)
        event = {"type": "locker", "bank": "ev-b", "slot": 18, "state": "open"}
        await site.apply(event)
        await collector.wait_for_event(event)
    finally:
        await _stop(site, drivers)
