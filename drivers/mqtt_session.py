"""A device reached through an MQTT broker (paho-mqtt 2.x): connect, subscribe, hand messages over.

paho runs its network loop in its own thread. Messages cross into asyncio through a deque: the
paho thread appends and wakes the event loop only when no wake-up is pending, so a burst of
thousands of messages costs a handful of loop wake-ups instead of one per message. The session
drains the deque in order and yields to the loop every `DRAIN_SLICE` messages.

Subscriptions are made in `on_connect`, so a reconnect resubscribes. A lost connection, a refused
CONNACK (wrong user or password) or a failed TLS handshake (an untrusted certificate) ends the
attempt with a `DeviceError` whose text says what to fix; the base class puts it in
`health.last_error`, logs it and reconnects with its backoff (paho's own reconnect is not used, so
there is one reconnect policy for every driver). The password is never part of any message.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from drivers.base import (
    DeviceDisconnected,
    DeviceError,
    Driver,
    Emit,
    SettingsBase,
    WiringBase,
)
from drivers.mqtt_link import (
    MqttTls,
    MqttUrl,
    check_tls_wiring,
    describe_connect_error,
    describe_refusal,
    new_client,
    parse_mqtt_url,
    unique_client_id,
)

DRAIN_SLICE = 500


class MqttRefused(DeviceError):
    """The broker answered CONNECT with a refusal (credentials, or not authorised)."""


class MqttLinkWiring(WiringBase):
    """Keys every device behind a broker has."""

    broker: str  # mqtt://[user:password@]host:port or mqtts://...
    tls: MqttTls | None = None  # CA file, client certificate and key for mqtts://
    keepalive_s: int = 30
    connect_timeout_s: float = 5.0

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        parse_mqtt_url(value, "broker")
        return value

    @model_validator(mode="after")
    def _tls_needs_mqtts(self) -> MqttLinkWiring:
        check_tls_wiring(parse_mqtt_url(self.broker, "broker"), self.tls)
        return self

    @property
    def broker_url(self) -> MqttUrl:
        return parse_mqtt_url(self.broker, "broker")


class MqttSubscriberDriver(Driver):
    """Connection handling; subclasses give `_topics()` and `_handle(topic, payload)`."""

    Wiring: ClassVar[type[WiringBase]] = MqttLinkWiring
    client_prefix = "custody"
    qos = 1  # subscriptions at QoS 1: the broker redelivers what was not acknowledged

    def __init__(self, wiring: WiringBase, settings: SettingsBase, emit: Emit) -> None:
        super().__init__(wiring, settings, emit)
        self._client: Any = None
        self._pending: deque[tuple[str, bytes]] = deque()
        self._failure: DeviceError | None = None
        self._wake_scheduled = False
        self._wakeup = asyncio.Event()
        self._generation = 0
        self.messages_received = 0

    @property
    def _link(self) -> MqttLinkWiring:
        return self.wiring  # type: ignore[return-value]

    def _topics(self) -> list[str]:
        raise NotImplementedError

    def _handle(self, topic: str, payload: bytes) -> None:
        raise NotImplementedError

    async def _connect(self) -> None:
        w = self._link
        url = w.broker_url
        loop = asyncio.get_running_loop()
        connected: asyncio.Future[None] = loop.create_future()
        # Everything this attempt's callbacks touch is captured here, so a connection abandoned
        # after a timeout (its connect() still running in a worker thread) cannot feed or fail a
        # later session.
        self._generation += 1
        generation = self._generation
        pending: deque[tuple[str, bytes]] = deque()
        self._pending = pending
        self._failure = None
        self._wake_scheduled = False
        self._wakeup = asyncio.Event()
        client = new_client(url, w.tls, unique_client_id(self.client_prefix, self.id))
        topics = self._topics()

        def fail(err: DeviceError) -> None:
            """On the loop: end the connection attempt or the session with `err`."""
            if generation != self._generation:
                return
            if not connected.done():
                connected.set_exception(err)
            if self._failure is None:
                self._failure = err
            self._wakeup.set()

        def on_connect(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            if reason_code.is_failure:
                loop.call_soon_threadsafe(fail, MqttRefused(describe_refusal(reason_code, url)))
                return
            c.subscribe([(topic, self.qos) for topic in topics])

        def on_subscribe(c: Any, userdata: Any, mid: Any, reason_codes: Any, properties: Any) -> None:
            refused = [t for t, rc in zip(topics, reason_codes) if rc.is_failure]
            if refused:
                err = MqttRefused(f"{url.safe}: the broker refused the subscription to {', '.join(refused)} "
                                  "(its ACL does not allow this user to read there)")
                loop.call_soon_threadsafe(fail, err)
                return
            loop.call_soon_threadsafe(_settle, connected)

        def on_disconnect(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            loop.call_soon_threadsafe(fail, DeviceDisconnected(f"{url.safe}: disconnected: {reason_code}"))

        def on_message(c: Any, userdata: Any, message: Any) -> None:
            pending.append((message.topic, message.payload))
            if generation == self._generation and not self._wake_scheduled:
                self._wake_scheduled = True
                loop.call_soon_threadsafe(self._wake)

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        self._client = client
        try:
            await asyncio.wait_for(asyncio.to_thread(client.connect, url.host, url.port, w.keepalive_s),
                                   w.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise DeviceDisconnected(describe_connect_error(exc, url, w.tls)) from exc
        client.loop_start()
        try:
            await asyncio.wait_for(connected, w.connect_timeout_s)
        except TimeoutError as exc:
            raise DeviceDisconnected(f"{url.safe}: no CONNACK/SUBACK within {w.connect_timeout_s}s") from exc

    def _wake(self) -> None:
        self._wake_scheduled = False
        self._wakeup.set()

    async def _session(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            handled = 0
            pending = self._pending
            while pending:
                topic, payload = pending.popleft()
                self.messages_received += 1
                self._handle(topic, payload)
                handled += 1
                if handled % DRAIN_SLICE == 0:
                    await asyncio.sleep(0)  # let the engine and the other devices run
            if self._failure is not None:
                raise self._failure

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        client.on_disconnect = None
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
