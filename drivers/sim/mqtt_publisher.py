"""A simulated device that publishes on a real broker, connected the way the drivers connect
(the wiring's URL with its credentials, `mqtts://` with the wiring's TLS files)."""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.mqtt_link import (
    describe_connect_error,
    describe_refusal,
    new_client,
    unique_client_id,
)
from drivers.mqtt_session import MqttLinkWiring


class SimulatorConnectError(RuntimeError):
    pass


class MqttPublisherSim:
    def __init__(self, wiring: MqttLinkWiring, will: tuple[str, str] | None = None) -> None:
        self.wiring = wiring
        self.keys: list[tuple[str, str]] = []
        self._will = will
        self.client: Any = None
        self.published: list[tuple[str, str]] = []
        self.refused: str | None = None

    async def start(self) -> None:
        url = self.wiring.broker_url
        # Random suffix: two sites in one process may both wire an `nvr-1`, and ids must differ
        # or the broker disconnects one for the other.
        client = new_client(url, self.wiring.tls, unique_client_id("sim", self.wiring.id))
        # Simulators publish bursts for benchmarks: many QoS 1 messages in flight at once.
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        if self._will is not None:
            client.will_set(self._will[0], self._will[1], qos=1, retain=True)
        loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()

        def on_connect(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            if reason_code.is_failure:
                self.refused = describe_refusal(reason_code, url)
                return
            loop.call_soon_threadsafe(self._connected.set)

        def on_disconnect(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            loop.call_soon_threadsafe(self._connected.clear)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        try:
            await asyncio.to_thread(client.connect, url.host, url.port, 30)
        except OSError as exc:
            raise SimulatorConnectError(
                f"simulator {self.wiring.id}: {describe_connect_error(exc, url, self.wiring.tls)}"
            ) from exc
        client.loop_start()
        self.client = client
        try:
            await self.wait_connected(10)
        except TimeoutError:
            await self.stop()
            raise SimulatorConnectError(f"simulator {self.wiring.id}: {self.refused or 'no CONNACK'}") from None
        await self._on_started()

    async def wait_connected(self, timeout: float) -> None:
        """paho reconnects the simulator by itself after a broker restart; this waits for it."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def _on_started(self) -> None:
        return None

    async def publish(self, topic: str, payload: str | bytes, retain: bool = True) -> None:
        assert self.client is not None, "start() the simulator first"
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        await asyncio.to_thread(info.wait_for_publish, 5)
        self.published.append((topic, payload if isinstance(payload, str) else payload.decode()))

    async def stop(self, clean: bool = True) -> None:
        """`clean=False` drops the TCP connection without DISCONNECT, so the broker sends the will."""
        client, self.client = self.client, None
        if client is None:
            return
        if clean:
            client.disconnect()
        else:
            sock = client.socket()
            if sock is not None:
                sock.close()
        await asyncio.to_thread(client.loop_stop)

    def close(self) -> None:
        return None
