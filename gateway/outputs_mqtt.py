"""Local outputs on MQTT (paho-mqtt 2.x) for the area's own displays and integrations.

    custody/<site>/zones/<zone>   retained, QoS 1: who is in the zone, which alerts are up
                                  (coalesced: at most one message per zone per 0.1 s)
    custody/<site>/alerts         QoS 1, not retained: every alert raised or cleared, as journaled
    custody/<site>/health         retained, QoS 1: gateway and device health; the last will
                                  publishes {"status": "offline"} there if the gateway dies

paho runs its network loop (and its reconnects, with backoff) in its own thread. Everything
published here is already in the journal, which is the store: paho's queue is memory only and
bounded (`max_queued`); when it is full a publish is counted as dropped and logged, and the
journal and uplink still hold it. After every (re)connect all zone statuses and the health are
published again, so a broker that restarted without persistence is repopulated.

The broker URL may carry credentials (`mqtt://user:password@host:1883`, percent-decoded) and may be
`mqtts://` (TLS, verified against `tls.ca_file` or the system CAs; `tls.cert_file`/`key_file` for a
client certificate). A refused login or an untrusted certificate is logged (once per change of
reason) and shown in `health_figures()["last_error"]`; paho retries with its backoff (1 s doubling to
30 s). The password is never logged: the URL appears as `url.safe`. The client id is
`custody-gw-<gateway>-<random>`, unique per start.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from drivers.mqtt_link import (
    MqttTls,
    describe_connect_error,
    describe_refusal,
    new_client,
    parse_mqtt_url,
    unique_client_id,
)
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway.mqtt")


def _dump(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class MqttOutputs:
    def __init__(self, url: str, site_id: str, gateway_id: str, status: ZoneStatus,
                 health: Callable[[], dict[str, Any]], max_queued: int = 20_000,
                 zone_interval_s: float = 0.1, tls: MqttTls | None = None) -> None:
        self.broker = parse_mqtt_url(url, "--mqtt")
        self.host, self.port = self.broker.host, self.broker.port
        self.url = self.broker.safe  # for logs and health: never the password
        self.tls = tls
        self.last_error: str | None = None
        self.site_id = site_id
        self.prefix = f"custody/{site_id}"
        self.status = status
        self.health = health
        self.connected = False
        self.published = 0
        self.dropped = 0
        self.connects = 0
        self.failed_attempts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.zone_interval_s = zone_interval_s
        self._dirty_zones: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        client = new_client(self.broker, tls, unique_client_id("custody-gw", gateway_id))
        client.max_queued_messages_set(max_queued)
        # QoS 1 throughput is max_inflight per broker round trip; paho's default of 20 caps a
        # loaded gateway at a few thousand messages a second and lets the queue overflow.
        client.max_inflight_messages_set(1000)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.will_set(f"{self.prefix}/health", _dump({"status": "offline", "gateway": gateway_id}), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        # paho's network thread swallows the exception of a failed (re)connect (it only calls
        # on_connect_fail); keep it, so the log and the health say why (TLS trust, refused port).
        self._connect_error: BaseException | None = None
        plain_reconnect = client.reconnect

        def reconnect() -> Any:
            try:
                return plain_reconnect()
            except OSError as exc:
                self._connect_error = exc
                raise
        client.reconnect = reconnect
        self.client = client

    # ---- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # connect_async: the first connection is made by the network thread, which keeps
        # retrying while the broker is down, so a missing broker never blocks the gateway.
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    async def stop(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_zones()
        if self.connected:
            info = self.client.publish(f"{self.prefix}/health", _dump({**self.health(), "status": "stopped"}), qos=1, retain=True)
            await asyncio.to_thread(self._wait_published, info, 2.0)
        self.connected = False  # a disconnect we asked for is not worth a warning
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)

    def network_alive(self) -> bool:
        """paho's network thread runs (it ends when a callback raises: the supervisor restarts it)."""
        thread = self.client._thread
        return thread is not None and thread.is_alive()

    async def restart_network(self) -> None:
        """Start paho's network thread again after it died; it reconnects on its own."""
        await asyncio.to_thread(self.client.loop_stop)
        self.connected = False
        self.start()

    @staticmethod
    def _wait_published(info: mqtt.MQTTMessageInfo, timeout: float) -> None:
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            log.info("final health not confirmed by the broker: %s", exc)

    # ---- paho thread callbacks -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        assert self._loop is not None
        if reason_code.is_failure:
            self._loop.call_soon_threadsafe(self._failed, describe_refusal(reason_code, self.broker))
            return
        self._loop.call_soon_threadsafe(self._connected)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        assert self._loop is not None
        exc, self._connect_error = self._connect_error, None
        text = describe_connect_error(exc, self.broker, self.tls) if exc is not None else f"{self.url}: connection failed"
        self._loop.call_soon_threadsafe(self._failed, text)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._disconnected, str(reason_code))

    # ---- on the event loop ------------------------------------------------------------------------

    def _failed(self, text: str) -> None:
        """A connection attempt failed; paho retries with its backoff."""
        self.failed_attempts += 1
        if text != self.last_error:
            log.warning("MQTT outputs cannot connect (retrying with backoff): %s", text,
                        extra={"fields": {"broker": self.url, "error": text}})
        self.last_error = text

    def _connected(self) -> None:
        self.connected = True
        self.connects += 1
        self.last_error = None
        log.info("MQTT outputs connected", extra={"fields": {"broker": self.url, "connects": self.connects}})
        self.publish_health()
        for zone in self.status.zone_ids:
            self._publish_zone(zone)

    def _disconnected(self, reason: str) -> None:
        if self.connected:
            log.warning("MQTT outputs disconnected", extra={"fields": {"broker": self.url, "reason": reason}})
        self.connected = False

    def committed(self, records: list[dict[str, Any]], changed_zones: set[str]) -> None:
        """Engine-task listener: called after the records are journaled.

        Alerts go out at once. Zone statuses are retained "latest state" messages, so changes
        are coalesced: a zone is published at most once per `zone_interval_s`, with its state
        at that moment; under load that turns thousands of updates a second into a few."""
        for record in records:
            if record.get("kind") == "alert":
                self._publish(f"{self.prefix}/alerts", record, retain=False)
        if changed_zones:
            self._dirty_zones |= changed_zones
            if self._flush_handle is None and self._loop is not None:
                self._flush_handle = self._loop.call_later(self.zone_interval_s, self._flush_zones)

    def _flush_zones(self) -> None:
        self._flush_handle = None
        dirty, self._dirty_zones = self._dirty_zones, set()
        for zone in sorted(dirty):
            self._publish_zone(zone)

    def _publish_zone(self, zone: str) -> None:
        """A zone's status, retained: the latest state is what a new subscriber needs."""
        self._publish(f"{self.prefix}/zones/{zone}", self.status.snapshot(zone), retain=True)

    def publish_health(self, figures: dict[str, Any] | None = None) -> None:
        """`figures`: health the caller has just gathered (else gathered here)."""
        figures = self.health() if figures is None else figures
        self._publish(f"{self.prefix}/health", {**figures, "status": "online"}, retain=True)

    def _publish(self, topic: str, payload: dict[str, Any], retain: bool) -> None:
        info = self.client.publish(topic, _dump(payload), qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("MQTT queue full: local publish dropped (the journal and uplink keep it)",
                            extra={"fields": {"topic": topic, "dropped_total": self.dropped}})
            return
        self.published += 1

    def health_figures(self) -> dict[str, Any]:
        return {"connected": self.connected, "broker": self.url, "published": self.published,
                "dropped_local": self.dropped, "connects": self.connects, "failed_attempts": self.failed_attempts,
                "last_error": self.last_error}
