"""The small site the gateway tests run: two zones, two EM4100 readers on ptys, two Modbus door
controllers (unit 1 and unit 2) on one Modbus TCP line, short timers."""
from __future__ import annotations

from pathlib import Path

SITE = """
site: {{id: {site_id}, name: "Gateway test area", kind: handling_area}}
zones:
  - {{id: entry, type: entry, cameras: [cam-entry]}}
  - {{id: int1, type: interrogation, cameras: [cam-int1a]}}
readers:
  - {{id: rdr-entry, zone: entry}}
  - {{id: rdr-int1, zone: int1}}
doors:
  - {{id: door-main, zone: entry}}
  - {{id: door-exit, zone: entry}}
rules:
  grace_s: 1
  lost_after_s: 3600
  door_open_max_s: 2
devices:
  - {{id: rdr-entry, profile: rdm6300, port: "{tmp}/rdr-entry"}}
  - {{id: rdr-int1, profile: rdm6300, port: "{tmp}/rdr-int1"}}
  - {{id: doors-main, profile: generic-door-2, url: "tcp://127.0.0.1:{modbus_port}", unit: 1, doors: [door-main],
      poll_interval_s: 0.05}}
  - {{id: doors-exit, profile: generic-door-2, url: "tcp://127.0.0.1:{modbus_port}", unit: 2, doors: [door-exit],
      poll_interval_s: 0.05, backoff_initial_s: 0.3, backoff_max_s: 1}}
"""

NO_DEVICES_SITE = """
site: {{id: {site_id}, name: "Gateway test area", kind: handling_area}}
zones:
  - {{id: entry, type: entry, cameras: [cam-entry]}}
  - {{id: int1, type: interrogation, cameras: [cam-int1a]}}
readers:
  - {{id: rdr-entry, zone: entry}}
  - {{id: rdr-int1, zone: int1}}
doors:
  - {{id: door-main, zone: entry}}
lockers:
  - {{id: bank-a, slots: 4, zone: entry}}
rules:
  grace_s: 1
  lost_after_s: 3600
  door_open_max_s: 2
"""


def write_site(directory: Path, template: str = SITE, site_id: str = "gw-test", **fields: object) -> Path:
    path = directory / "site.yaml"
    path.write_text(template.format(tmp=directory, site_id=site_id, **fields), encoding="utf-8")
    return path

# The consoles' site: a registration desk whose reader binds wristbands (enrolment: true), an
# interrogation room with its own reader, and a belongings bank of 8 slots on a simulated Modbus
# lock board with in-slot RFID (the generic-lockboard-16 profile, 8 slots wired).
CONSOLE_SITE = """
site: {{id: {site_id}, name: "城关派出所办案区", kind: handling_area, timezone: Asia/Shanghai}}
zones:
  - {{id: reg, type: registration, name: "登记区", requires_recording: false}}
  - {{id: int1, type: interrogation, name: "讯问室一", requires_recording: false}}
  - {{id: belong, type: belongings, name: "随身物品保管区", requires_recording: false}}
readers:
  - {{id: rdr-reg, zone: reg, enrolment: true}}
  - {{id: rdr-int1, zone: int1}}
lockers:
  - {{id: belong-a, slots: 8, zone: belong}}
rules:
  grace_s: 3600
  lost_after_s: 36000
devices:
  - {{id: rdr-reg, profile: rdm6300, port: "{tmp}/rdr-reg"}}
  - {{id: rdr-int1, profile: rdm6300, port: "{tmp}/rdr-int1"}}
  - {{id: lockboard-a, profile: generic-lockboard-16, url: "tcp://127.0.0.1:{modbus_port}", unit: 1, bank: belong-a,
      settings: {{slots: 8, poll_interval_s: 0.05}}}}
"""
