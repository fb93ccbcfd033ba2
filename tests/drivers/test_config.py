"""Device wiring and profiles: what loads, and errors that say file, line, key path and fault."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from drivers.base import Backoff
from drivers.config import DeviceConfigError, check_wiring_against_site, load_devices
from drivers.registry import DRIVERS, driver_class

pytestmark = pytest.mark.drivers
ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return load_devices(path), path


def _error(tmp_path, text) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeviceConfigError) as info:
        load_devices(path)
    return str(info.value)


def test_every_registered_driver_imports():
    for name in DRIVERS:
        assert driver_class(name).__name__


def test_every_shipped_profile_loads(tmp_path):
    from drivers.config import PROFILES_DIR, load_profile

    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        profile = load_profile(path.stem)
        driver_class(profile.driver).Settings.model_validate(profile.settings)


def test_bad_value_names_file_line_and_key_path(tmp_path):
    message = _error(
        tmp_path,
        "site: {id: t}\ndevices:\n  - {id: a, profile: rdm6300, port: /dev/x}\n"
        "  - id: b\n    profile: generic-lockboard-16\n    url: tcp://127.0.0.1:1\n"
        "    unit: many\n    bank: ev-a\n",
    )
    assert message.startswith(f"{tmp_path / 'site.yaml'}:7: devices[1].unit: ")
    assert "integer" in message


def test_unknown_key_is_refused(tmp_path):
    message = _error(tmp_path, "devices:\n  - {id: a, profile: rdm6300, port: /dev/x, baud: 9600}\n")
    assert ":2: devices[0].baud: Extra inputs are not permitted" in message


def test_missing_wiring_key(tmp_path):
    message = _error(tmp_path, "devices:\n  - {id: a, profile: generic-lockboard-16, url: tcp://h:1}\n")
    assert "devices[0].bank: Field required" in message


def test_unknown_profile_and_unknown_driver(tmp_path):
    assert "profile 'nope' not found" in _error(tmp_path, "devices:\n  - {id: a, profile: nope, port: x}\n")
    message = _error(tmp_path, "devices:\n  - {id: a, driver: telepathy, port: x}\n")
    assert "devices[0].driver: unknown driver 'telepathy'" in message


def test_driver_must_agree_with_profile(tmp_path):
    message = _error(tmp_path, "devices:\n  - {id: a, driver: chafon_uhf, profile: rdm6300, port: x}\n")
    assert "devices[0].driver: 'chafon_uhf' but profile 'rdm6300' is for 'em4100_serial'" in message


def test_duplicate_ids(tmp_path):
    message = _error(
        tmp_path, "devices:\n  - {id: a, profile: rdm6300, port: x}\n  - {id: a, profile: rdm6300, port: y}\n"
    )
    assert ":3: devices[1].id: duplicate device id 'a' (first at devices[0])" in message


def test_settings_override_is_validated_where_it_is_written(tmp_path):
    message = _error(
        tmp_path,
        "devices:\n  - id: k\n    profile: kerong-kr-cu16\n    port: x\n    bank: b\n"
        "    settings: {hook_bit_closed: maybe}\n",
    )
    assert ":6: devices[0].settings.hook_bit_closed:" in message


def test_wiring_checked_against_the_profile(tmp_path):
    message = _error(tmp_path, "devices:\n  - {id: d, profile: generic-door-2, url: tcp://h:1, doors: [a, b, c]}\n")
    assert "3 doors wired, the profile's controller has 2" in message


def test_bad_profile_names_the_profile_file(tmp_path, monkeypatch):
    import drivers.config as config

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "broken.yaml").write_text(
        "driver: modbus_lockboard\nsettings:\n  slots: 8\n  unlock: {table: coil}\n  doors: {address: 0}\n"
    )
    monkeypatch.setattr(config, "PROFILES_DIR", tmp_path / "profiles")
    path = tmp_path / "site.yaml"
    path.write_text("devices:\n  - {id: b, profile: broken, url: tcp://h:1, bank: x}\n")
    with pytest.raises(DeviceConfigError) as info:
        load_devices(path, profiles_dir=tmp_path / "profiles")
    assert f"{tmp_path / 'profiles' / 'broken.yaml'}:4: settings.unlock.address: Field required" in str(info.value)


def test_items_format_must_take_a_number(tmp_path):
    message = _error(
        tmp_path,
        "devices:\n  - id: b\n    profile: generic-lockboard-16\n    url: tcp://h:1\n"
        "    bank: x\n    settings:\n      items: {address: 0, format: '{name}'}\n",
    )
    assert "devices[0].settings.items" in message and "cannot format a number" in message


@pytest.mark.parametrize("site", ["demo-area", "demo-property"])
def test_demo_sites_wire_every_device_to_declared_ids(site):
    path = ROOT / "firmware_configs" / "sites" / f"{site}.yaml"
    specs = load_devices(path)
    assert specs, f"{path} has no devices block"
    assert check_wiring_against_site(path, specs) == []


def test_backoff_grows_with_jitter_and_stays_bounded():
    backoff = Backoff(0.5, 8.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(10)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
    backoff.reset()
    assert backoff.next_delay() <= 0.5


async def test_close_is_idempotent_and_works_before_start(tmp_path):
    specs, _ = _load(tmp_path, f"devices:\n  - {{id: a, profile: rdm6300, port: {tmp_path}/absent}}\n")
    events = []
    never_started = specs[0].create(events.append)
    await never_started.close()
    await never_started.close()
    driver = specs[0].create(events.append)
    driver.start()
    await driver.wait_health(lambda h: h.last_error is not None, 5)  # the port does not exist
    assert "cannot open" in driver.health.last_error
    await asyncio.gather(driver.close(), driver.close())
    await driver.close()
    assert not driver.health.connected and events == []
    with pytest.raises(RuntimeError, match="after close"):
        driver.start()
