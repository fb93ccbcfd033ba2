"""Supervised tasks (issue 11, item 5): a long-lived gateway task that raises or returns is logged
with its traceback and restarted with backoff, and health shows its state, restarts and last
error; the uplink treats redirects, HTML 200s and JSON missing a field as failed attempts and,
through a real misbehaving proxy in front of a real center, every journal entry still arrives."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from flaky_proxy import FlakyProxy
from gw_processes import CentralServer
from gw_sites import NO_DEVICES_SITE, write_site

from gateway.journal import Journal
from gateway.settings import GatewaySettings
from gateway.supervisor import Gateway
from gateway.tasks import SupervisedTask
from gateway.uplink import Uplink, UplinkRefused, _answer

pytestmark = pytest.mark.timeout(120)
T0 = 1_790_000_000_000


async def _until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    """The components here expose counters, not events: a short, bounded poll."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_failing_task_is_logged_restarted_and_reported(caplog):
    runs = 0
    running = asyncio.Event()

    async def body() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise KeyError("bug in the first run")
        if runs == 2:
            return  # a long-lived task that returns is a fault too
        running.set()
        await asyncio.Event().wait()

    task = SupervisedTask("flaky", body, backoff_initial_s=0.01, backoff_max_s=0.05)
    with caplog.at_level(logging.ERROR, logger="gateway.tasks"):
        handle = task.start()
        await asyncio.wait_for(running.wait(), 10)
    figures = task.figures()
    assert figures["state"] == "running" and figures["restarts"] == 2
    assert "returned" in figures["last_error"] and figures["last_error_at"] is not None
    failures = [r for r in caplog.records if r.name == "gateway.tasks"]
    assert len(failures) == 2
    assert failures[0].exc_info is not None and failures[0].exc_info[0] is KeyError  # the traceback is logged
    assert "bug in the first run" in caplog.text
    handle.cancel()
    await asyncio.gather(handle, return_exceptions=True)
    assert task.figures()["state"] == "stopped"


async def test_gateway_health_shows_each_task_and_a_crashing_uplink(tmp_path):
    """An uplink that cannot even build its client (a URL with a bad port) crashes on every run:
    the supervisor restarts it, the other tasks run on, health names the error."""
    settings = GatewaySettings(site_path=write_site(tmp_path, NO_DEVICES_SITE), data_dir=tmp_path / "data",
                               server_url="http://127.0.0.1:not-a-port", credential="cgw_x", desk_port=None,
                               health_interval_s=0.2)
    gateway = Gateway(settings)
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(stop))
    try:
        await _until(lambda: "uplink" in gateway.supervised and gateway.supervised["uplink"].restarts >= 2,
                     what="two uplink restarts")
        tasks = gateway.health()["gateway"]["tasks"]
        assert set(tasks) == {"uplink", "health", "checkpoint"}
        assert tasks["uplink"]["restarts"] >= 2 and "InvalidURL" in tasks["uplink"]["last_error"]
        assert tasks["health"] == {"state": "running", "restarts": 0, "last_error": None, "last_error_at": None}
        assert gateway.runner is not None and gateway.runner.stats.events == 0
    finally:
        stop.set()
        await asyncio.wait_for(run, 30)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the callback bug, on purpose
async def test_mqtt_network_thread_that_dies_is_restarted(tmp_path, broker):
    """paho's network thread ends when a callback raises; the supervisor starts it again."""
    settings = GatewaySettings(site_path=write_site(tmp_path, NO_DEVICES_SITE), data_dir=tmp_path / "data",
                               mqtt_url=broker.url, desk_port=None, health_interval_s=3600)
    gateway = Gateway(settings)
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(stop))
    try:
        await _until(lambda: gateway.mqtt is not None and gateway.mqtt.connected, what="MQTT connected")
        mqtt = gateway.mqtt
        assert mqtt is not None
        original = mqtt.client.on_connect
        raised = []

        def on_connect_once_broken(*args: object) -> None:
            if not raised:
                raised.append(True)
                raise RuntimeError("callback bug")
            original(*args)  # type: ignore[misc]

        mqtt.client.on_connect = on_connect_once_broken
        connects = mqtt.connects
        await broker.restart()  # paho reconnects; the broken callback kills its thread
        await _until(lambda: gateway.supervised["mqtt-outputs"].restarts >= 1, what="MQTT watchdog restart")
        await _until(lambda: mqtt.connected and mqtt.connects > connects, what="MQTT reconnected")
        figures = gateway.health()["gateway"]["tasks"]["mqtt-outputs"]
        assert figures["state"] == "running" and "network thread ended" in figures["last_error"]
    finally:
        stop.set()
        await asyncio.wait_for(run, 30)


@pytest.mark.parametrize(("status", "headers", "body", "complaint"), [
    (301, {"location": "http://portal.invalid/"}, b"", "redirect to 'http://portal.invalid/'"),
    (307, {}, b"", "HTTP 307 redirect"),
    (200, {"content-type": "text/html"}, b"<html>portal</html>", "the body is not JSON (text/html)"),
    (200, {"content-type": "application/json"}, b"[1, 2]", "the JSON is a list, not an object"),
    (200, {"content-type": "application/json"}, b'{"stored": 1}', "field 'last_seq' should be int"),
    (200, {"content-type": "application/json"}, b'{"stored": 1, "duplicates": 0, "last_seq": "7"}',
     "field 'last_seq' should be int, the answer has '7'"),
    (200, {"content-type": "application/json"}, b'{"stored": 1, "duplicates": false, "last_seq": 7}',
     "field 'duplicates' should be int, the answer has False"),
    (500, {}, b"oops", "HTTP 500: oops"),
])
def test_answers_of_the_wrong_shape_are_failed_attempts(status, headers, body, complaint):
    response = httpx.Response(status, headers=headers, content=body)
    with pytest.raises(UplinkRefused) as raised:
        _answer(response, "ingest", {"last_seq": int, "stored": int, "duplicates": int})
    assert complaint in str(raised.value)
    good = httpx.Response(200, json={"stored": 1, "duplicates": 0, "last_seq": 7})
    assert _answer(good, "ingest", {"last_seq": int, "stored": int, "duplicates": int})["last_seq"] == 7


@pytest.fixture
def center(tmp_path_factory) -> Iterator[CentralServer]:
    srv = CentralServer(tmp_path_factory.mktemp("center"), "proxy-site", "proxy-gw").start()
    yield srv
    srv.stop()


def center_chain(center: CentralServer, gateway_id: str) -> list[tuple[int, str, str]]:
    """(seq, hash, body) of every entry the center stored for the gateway, from its database."""
    with sqlite3.connect(center.db_path) as db:
        return db.execute("SELECT seq, hash, body FROM journal_entries WHERE gateway_id = ? ORDER BY seq",
                          (gateway_id,)).fetchall()


def _append(journal: Journal, start: int, count: int) -> None:
    journal.append([(T0 + i, "event", {"ts": T0 + i, "type": "door", "door": "door-main",
                                       "state": "open" if i % 2 == 0 else "closed"})
                    for i in range(start, start + count)])


@pytest.mark.durability
async def test_uplink_through_redirects_and_html_delivers_every_entry(tmp_path, center):
    proxy = FlakyProxy(center.url, mode="redirect").start()
    journal = Journal(tmp_path / "gw")
    _append(journal, 0, 30)
    uplink = Uplink(journal, proxy.url, "proxy-gw", "proxy-site", center.credential, batch_max=7,
                    backoff_initial_s=0.02, backoff_max_s=0.2)
    task = SupervisedTask("uplink", uplink.run, backoff_initial_s=0.02, backoff_max_s=0.2)
    handle = task.start()
    try:
        # 301s to a captive portal: nothing delivered, the redirect named, the task alive.
        await asyncio.to_thread(proxy.wait_answered, "redirect", 4)
        assert uplink.acked_seq == 0 and "redirect" in (uplink.last_error or "")
        assert "portal.invalid" in (uplink.last_error or "")
        _append(journal, 30, 10)  # the desk goes on meanwhile
        # 200 with an HTML page: not JSON, so not an acknowledgement.
        proxy.mode = "html"
        await asyncio.to_thread(proxy.wait_answered, "html", 4)
        await _until(lambda: "not JSON" in (uplink.last_error or ""), what="the HTML answer named")
        assert uplink.acked_seq == 0
        # Ingest answered with JSON that lacks last_seq (never forwarded): still nothing marked delivered.
        proxy.mode = "partial"
        await asyncio.to_thread(proxy.wait_answered, "partial", 6)
        await _until(lambda: "'last_seq'" in (uplink.last_error or ""), what="the missing field named")
        assert uplink.acked_seq == 0 and proxy.forwarded_ingests == 0
        _append(journal, 40, 5)
        proxy.mode = "pass"
        await _until(lambda: uplink.acked_seq == journal.last_seq == 45, what="everything delivered")
    finally:
        handle.cancel()
        await asyncio.gather(handle, return_exceptions=True)
        proxy.stop()
    figures = uplink.health_figures()
    assert figures["undelivered"] == 0 and figures["unexpected_answers"] >= 8 and figures["last_error"] is None
    assert task.restarts == 0  # the uplink's own loop retried; nothing escaped it
    stored = center_chain(center, "proxy-gw")
    local = [(e.seq, e.hash, e.body) for e in journal.read_after(0, 1000)]
    assert stored == local  # exactly once, in order, with the gateway's hashes and bodies
    journal.close()


@pytest.mark.durability
async def test_chain_conflict_at_the_center_is_an_error_not_a_crash(tmp_path, center, caplog):
    """Another journal under the same gateway id (a restored backup, a swapped disk): the center
    answers 409 `conflict: chain`; the uplink logs an ERROR, reports it and keeps retrying."""
    first = Journal(tmp_path / "first")
    _append(first, 0, 5)
    uplink = Uplink(first, center.url, "proxy-gw", "proxy-site", center.credential)
    task = asyncio.create_task(uplink.run())
    await _until(lambda: uplink.acked_seq == 5, what="the first journal delivered")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    first.close()
    other = Journal(tmp_path / "other")
    _append(other, 100, 8)  # other bodies, so seq 6 does not follow the center's seq 5
    uplink = Uplink(other, center.url, "proxy-gw", "proxy-site", center.credential,
                    backoff_initial_s=0.02, backoff_max_s=0.1)
    supervised = SupervisedTask("uplink", uplink.run)
    handle = supervised.start()
    try:
        await _until(lambda: uplink.failed_attempts >= 3, what="three refused attempts")
    finally:
        handle.cancel()
        await asyncio.gather(handle, return_exceptions=True)
    assert "contradicts the chain" in (uplink.last_error or "") and uplink.acked_seq == 5
    assert supervised.restarts == 0 and not uplink.connected
    assert any(r.levelname == "ERROR" and "chain conflict" in r.getMessage() for r in caplog.records)
    assert [seq for seq, _, _ in center_chain(center, "proxy-gw")] == [1, 2, 3, 4, 5]
    other.close()
