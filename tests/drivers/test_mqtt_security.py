"""MQTT with credentials and TLS, against a real Mosquitto that the test configures with a password
file (mosquitto_passwd) and a CA and server certificate it makes: reader and NVR drivers and their
simulators connect; a wrong password and an untrusted certificate are clear errors on health and in
the log, retried with backoff; the password never appears anywhere."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.mqtt_link import parse_mqtt_url, redact, unique_client_id
from drivers.sim.broker import BrokerTls, MosquittoBroker, find_mosquitto
from drivers.sim.certs import TestPki
from drivers.sim.player import SimulatedSite
from tests.drivers.conftest import require_tool

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

USER = "gw-01"
PASSWORD = "s3cr:t@/pw%"  # characters that must be percent-encoded in a URL

SITE = """
site: {{id: t}}
devices:
  - {{id: fx-1, profile: zebra-iot-connector, broker: "{url}", backoff_initial_s: 0.05, backoff_max_s: 0.2,
      {tls}readers: {{fx-a: {{1: rdr-a, 2: rdr-b}}}}}}
  - {{id: nvr-1, profile: frigate, broker: "{url}", backoff_initial_s: 0.05, backoff_max_s: 0.2,
      {tls}cameras: {{c1: cam-1}}}}
"""


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki")


async def _broker(**kwargs) -> MosquittoBroker:
    if find_mosquitto() is None:
        if os.environ.get("CI"):
            pytest.fail("CI: mosquitto is required (scripts/system-deps.sh installs it)")
        pytest.skip("mosquitto is not installed")
    require_tool("mosquitto_passwd")
    return await MosquittoBroker(**kwargs).start()


@pytest.fixture
async def secured(pki: TestPki) -> AsyncIterator[MosquittoBroker]:
    broker = await _broker(
        users={USER: PASSWORD, "other": "x"}, tls=BrokerTls(pki.ca_file, pki.server_cert, pki.server_key)
    )
    try:
        yield broker
    finally:
        await broker.stop()


def _tls(ca: Path, cert: tuple[Path, Path] | None = None) -> str:
    extra = f', cert_file: "{cert[0]}", key_file: "{cert[1]}"' if cert else ""
    return f'tls: {{ca_file: "{ca}"{extra}}}, '


async def _run(specs, collector):
    drivers = {spec.id: spec.create(collector) for spec in specs}
    for driver in drivers.values():
        driver.start()
    return drivers


async def _close(drivers):
    for driver in drivers.values():
        await driver.close()


def test_urls_are_percent_decoded_and_redacted():
    url = parse_mqtt_url("mqtts://gw%2D01:s3cr%3At%40%2Fpw%25@broker.example")
    assert (url.username, url.password, url.tls, url.port) == ("gw-01", PASSWORD, True, 8883)
    assert url.safe == "mqtts://gw-01:***@broker.example:8883" and PASSWORD not in repr(url)
    assert parse_mqtt_url("mqtt://10.0.0.5").port == 1883
    assert redact("mqtt://u:hunter2@h:1") == "mqtt://u:***@h:1"
    with pytest.raises(ValueError, match="password needs a user name"):
        parse_mqtt_url("mqtt://:pw@h")
    assert unique_client_id("custody-rdr", "fx") != unique_client_id("custody-rdr", "fx")


async def test_password_and_tls_drivers_and_simulators_connect(write_site, secured, pki, collector):
    specs = write_site(SITE, url=secured.url_for(USER, PASSWORD), tls=_tls(pki.ca_file))
    site = SimulatedSite(specs)
    specs = await site.start()
    drivers = await _run(specs, collector)
    try:
        for driver in drivers.values():
            await driver.wait_connected(10)
        event = {"type": "tag_seen", "reader": "rdr-b", "tag": "E2000000000000000000ABCD", "rssi": -41}
        await site.apply(event)
        await collector.wait_for_event(event)
        camera = {"type": "camera", "camera": "cam-1", "state": "recording"}
        await site.apply(camera)
        await collector.wait_for_event(camera)
    finally:
        await _close(drivers)
        await site.stop()


async def test_client_certificate_required_by_the_broker(write_site, pki, collector):
    broker = await _broker(tls=BrokerTls(pki.ca_file, pki.server_cert, pki.server_key), require_certificate=True)
    try:
        specs = write_site(SITE, url=broker.url, tls=_tls(pki.ca_file, pki.client("gateway")))
        drivers = await _run(specs, collector)
        try:
            for driver in drivers.values():
                await driver.wait_connected(10)
        finally:
            await _close(drivers)
    finally:
        await broker.stop()


async def test_wrong_password_is_a_clear_error_retried_with_backoff(write_site, secured, pki, collector, caplog):
    caplog.set_level(logging.INFO, logger="drivers")
    specs = write_site(SITE, url=secured.url_for(USER, "wrong-" + PASSWORD), tls=_tls(pki.ca_file))
    drivers = await _run(specs[:1], collector)
    try:
        fx = drivers["fx-1"]
        await fx.wait_health(lambda h: h.last_error is not None, 10)
        assert "the broker refused the credentials" in fx.health.last_error
        assert f"user '{USER}'" in fx.health.last_error and "***" in fx.health.last_error
        assert not fx.health.connected

        def attempts() -> int:
            return sum("refused the credentials" in r.getMessage() for r in caplog.records)

        await _sleep_until(lambda: attempts() >= 3)  # retried: every attempt fails the same way and is logged
        assert any("reconnecting in" in r.getMessage() for r in caplog.records)
        assert PASSWORD not in caplog.text and "wrong-" not in caplog.text
    finally:
        await _close(drivers)


async def test_untrusted_certificate_is_a_clear_error_retried_with_backoff(
    write_site, secured, tmp_path, caplog, collector
):
    caplog.set_level(logging.INFO, logger="drivers")
    stranger = TestPki.create(tmp_path / "other-ca", name="someone else's CA")
    specs = write_site(SITE, url=secured.url_for(USER, PASSWORD), tls=_tls(stranger.ca_file))
    drivers = await _run(specs[1:], collector)
    try:
        nvr = drivers["nvr-1"]
        await nvr.wait_health(lambda h: h.last_error is not None, 10)
        assert "TLS: the broker's certificate is not trusted" in nvr.health.last_error
        assert str(stranger.ca_file) in nvr.health.last_error
        await _sleep_until(lambda: sum("not trusted" in r.getMessage() for r in caplog.records) >= 3)
        assert not nvr.health.connected and PASSWORD not in caplog.text
    finally:
        await _close(drivers)


async def test_same_device_id_twice_both_stay_connected(write_site, broker, collector):
    """Random client ids: a second gateway (or a restart racing the old session) does not take over."""
    specs = write_site(SITE, url=broker.url, tls="")
    first = specs[0].create(collector)
    second = specs[0].create(collector)
    site = SimulatedSite(specs[:1])
    await site.start()
    try:
        first.start()
        second.start()
        await first.wait_connected(5)
        await second.wait_connected(5)
        await site.apply({"type": "tag_seen", "reader": "rdr-a", "tag": "E2000000000000000000AAAA", "rssi": -50})
        await collector.wait_until(lambda evs: len(evs) >= 2, what="the read at both drivers")
        assert first.health.connected and second.health.connected
        assert first.health.reconnects == 0 and second.health.reconnects == 0
    finally:
        await first.close()
        await second.close()
        await site.stop()


async def _sleep_until(predicate, timeout: float = 10.0) -> None:
    """Wait for log records (no event to wait on): a short poll, bounded."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)
