"""The gateway's MQTT outputs with a password and TLS, against a real Mosquitto the test configures
(password file via mosquitto_passwd, a CA and server certificate it makes): alerts and health reach
an authenticated subscriber; a wrong password or an untrusted certificate is a clear error in the
outputs' health and in the log, retried with paho's backoff; the password is never logged."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.mqtt_link import MqttTls, new_client, parse_mqtt_url, unique_client_id
from drivers.sim.broker import BrokerTls, MosquittoBroker, find_mosquitto
from drivers.sim.certs import TestPki
from gateway.outputs_mqtt import MqttOutputs
from gateway.zone_status import ZoneStatus

pytestmark = [pytest.mark.drivers, pytest.mark.timeout(60)]

USER, PASSWORD = "gateway", "p@ss word/%"


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki")


@pytest.fixture
async def secured(pki: TestPki) -> AsyncIterator[MosquittoBroker]:
    missing = [t for t in ("mosquitto_passwd",) if shutil.which(t) is None]
    if find_mosquitto() is None or missing:
        if os.environ.get("CI"):
            pytest.fail("CI: mosquitto and mosquitto_passwd are required (scripts/system-deps.sh)")
        pytest.skip("mosquitto is not installed")
    broker = await MosquittoBroker(users={USER: PASSWORD, "display": "d"},
                                   tls=BrokerTls(pki.ca_file, pki.server_cert, pki.server_key)).start()
    try:
        yield broker
    finally:
        await broker.stop()


def _outputs(url: str, tls: MqttTls) -> MqttOutputs:
    return MqttOutputs(url, "t", "t-gw", ZoneStatus("t", ["z1"]), lambda: {"gateway": {"id": "t-gw"}}, tls=tls)


async def _until(predicate, timeout: float = 15.0) -> None:
    """paho's network thread has no awaitable state: a short, bounded poll."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_alerts_reach_an_authenticated_tls_subscriber(secured, pki):
    tls = MqttTls(ca_file=pki.ca_file)
    outputs = _outputs(secured.url_for(USER, PASSWORD), tls)
    received: list[tuple[str, dict]] = []
    sub_url = parse_mqtt_url(secured.url_for("display", "d"))
    sub = new_client(sub_url, tls, unique_client_id("test-display", "t"))
    subscribed = asyncio.Event()
    loop = asyncio.get_running_loop()
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("custody/t/#", qos=1)
    sub.on_subscribe = lambda c, u, mid, rcs, p: loop.call_soon_threadsafe(subscribed.set)
    sub.on_message = lambda c, u, m: received.append((m.topic, json.loads(m.payload)))
    sub.connect(sub_url.host, sub_url.port)
    sub.loop_start()
    outputs.start()
    try:
        await asyncio.wait_for(subscribed.wait(), 10)
        await _until(lambda: outputs.connected)
        assert outputs.health_figures()["last_error"] is None
        assert outputs.health_figures()["broker"] == f"mqtts://{USER}:***@127.0.0.1:{secured.port}"
        alert = {"kind": "alert", "rule": "flow_violation", "subject": "p1", "ts": 1}
        outputs.committed([alert], set())
        await _until(lambda: any(t == "custody/t/alerts" for t, _ in received))
        assert [b for t, b in received if t == "custody/t/alerts"] == [alert]
        assert any(t == "custody/t/health" and b["status"] == "online" for t, b in received)
    finally:
        await outputs.stop()
        sub.disconnect()
        sub.loop_stop()


async def test_wrong_password_is_on_health_and_in_the_log_and_retried(secured, pki, caplog):
    caplog.set_level(logging.INFO, logger="gateway.mqtt")
    outputs = _outputs(secured.url_for(USER, "not-" + PASSWORD), MqttTls(ca_file=pki.ca_file))
    outputs.start()
    try:
        await _until(lambda: outputs.failed_attempts >= 2)  # paho's backoff: 1 s, then 2 s, ...
        figures = outputs.health_figures()
        assert not figures["connected"]
        assert "the broker refused the credentials" in figures["last_error"] and f"user '{USER}'" in figures["last_error"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("MQTT outputs cannot connect" in w and "refused the credentials" in w for w in warnings)
        assert PASSWORD not in caplog.text and "not-p" not in caplog.text
    finally:
        await outputs.stop()


async def test_untrusted_certificate_is_on_health_and_in_the_log_and_retried(secured, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gateway.mqtt")
    stranger = TestPki.create(tmp_path / "stranger", name="not our CA")
    outputs = _outputs(secured.url_for(USER, PASSWORD), MqttTls(ca_file=stranger.ca_file))
    outputs.start()
    try:
        await _until(lambda: outputs.failed_attempts >= 2)
        figures = outputs.health_figures()
        assert not figures["connected"]
        assert "TLS: the broker's certificate is not trusted" in figures["last_error"]
        assert str(stranger.ca_file) in figures["last_error"]
        assert any("not trusted" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert PASSWORD not in caplog.text
    finally:
        await outputs.stop()


def test_cli_mqtt_options_are_checked_before_start_and_never_echo_the_password(tmp_path):
    import subprocess
    import sys

    from core_ext.resources import sites_dir

    site = next(iter(sorted(sites_dir().glob("*.yaml"))))
    base = [sys.executable, "-m", "gateway.commands.cli", "gateway", "run", "--site", str(site),
            "--data", str(tmp_path / "data"), "--desk-port", "0"]
    missing = subprocess.run([*base, "--mqtt", "mqtts://gw:hunter2@127.0.0.1:1", "--mqtt-ca-file", "/nonexistent/ca.pem"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 2 and "ca_file: no such file '/nonexistent/ca.pem'" in missing.stderr
    clear = subprocess.run([*base, "--mqtt", "mqtt://gw:hunter2@127.0.0.1:1", "--mqtt-ca-file", str(site)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert clear.returncode == 2 and "use mqtts://" in clear.stderr and "gw:***@" in clear.stderr
    bad = subprocess.run([*base, "--mqtt", "http://gw:hunter2@127.0.0.1:1"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "--mqtt must look like mqtt://" in bad.stderr
    assert "hunter2" not in missing.stderr + clear.stderr + bad.stderr
