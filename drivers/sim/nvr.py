"""A simulated NVR that publishes what Frigate (or a JSON bridge) publishes, on a real broker."""
from __future__ import annotations

import asyncio
import itertools
import json
import os
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from drivers.mqtt_address import mqtt_address
from drivers.mqtt_nvr import FrigateSettings, JsonNvrSettings, MqttWiring

# Two sites in one process may both wire an `nvr-1`: client ids must differ or the broker
# disconnects one for the other.
_client_seq = itertools.count(1)


class _MqttPublisherSim:
    def __init__(self, wiring: MqttWiring, will: tuple[str, str] | None = None) -> None:
        self.wiring = wiring
        self.keys = [("camera", camera) for camera in wiring.cameras.values()]
        self._nvr_name = {camera: name for name, camera in wiring.cameras.items()}
        self._will = will
        self.client: mqtt.Client | None = None
        self.published: list[tuple[str, str]] = []

    async def start(self) -> None:
        host, port = mqtt_address(self.wiring.broker)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-nvr-{self.wiring.id}-{os.getpid()}-{next(_client_seq)}")
        if self._will is not None:
            client.will_set(self._will[0], self._will[1], qos=1, retain=True)
        loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            if not reason_code.is_failure:
                loop.call_soon_threadsafe(self._connected.set)

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            loop.call_soon_threadsafe(self._connected.clear)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        await asyncio.to_thread(client.connect, host, port, 30)
        client.loop_start()
        self.client = client
        await self.wait_connected(10)
        await self._on_started()

    async def wait_connected(self, timeout: float) -> None:
        """paho reconnects the simulator by itself after a broker restart; this waits for it."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def _on_started(self) -> None:
        return None

    async def publish(self, topic: str, payload: str, retain: bool = True) -> None:
        assert self.client is not None, "start() the simulator first"
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        await asyncio.to_thread(info.wait_for_publish, 5)
        self.published.append((topic, payload))

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


class FrigateSim(_MqttPublisherSim):
    def __init__(self, wiring: MqttWiring, settings: FrigateSettings) -> None:
        self.prefix = wiring.topic_prefix or settings.topic_prefix
        super().__init__(wiring, will=(f"{self.prefix}/available", "offline"))
        self.settings = settings

    async def _on_started(self) -> None:
        await self.publish(f"{self.prefix}/available", "online")

    async def apply(self, event: dict[str, Any]) -> None:
        name = self._nvr_name[event["camera"]]
        state = event["state"]
        inverse_rec = {v: k for k, v in self.settings.recordings_state.items()}
        inverse_status = {v: k for k, v in self.settings.record_status.items()}
        if state in inverse_rec:
            await self.publish(f"{self.prefix}/{name}/recordings/state", inverse_rec[state])
        else:
            await self.publish(f"{self.prefix}/{name}/status/{self.settings.record_status_role}", inverse_status[state])

    async def detection(self, nvr_camera: str, kind: str = "new", label: str = "person") -> None:
        """A frigate/events message (not retained, like Frigate's)."""
        after = {"id": f"{nvr_camera}-1", "camera": nvr_camera, "label": label, "start_time": 0.0,
                 "end_time": None, "has_clip": False, "has_snapshot": False, "current_zones": [],
                 "entered_zones": [], "score": 0.8, "top_score": 0.8, "false_positive": False}
        await self.publish(f"{self.prefix}/events", json.dumps({"type": kind, "before": after, "after": after}),
                           retain=False)


class JsonNvrSim(_MqttPublisherSim):
    def __init__(self, wiring: MqttWiring, settings: JsonNvrSettings) -> None:
        super().__init__(wiring)
        self.settings = settings
        self._word = {v: k for k, v in settings.states.items()}

    async def apply(self, event: dict[str, Any]) -> None:
        name = self._nvr_name[event["camera"]]
        topic = self.settings.topic.replace("+", name).replace("#", name)
        payload = {self.settings.state_field: self._word[event["state"]]}
        if self.settings.camera_from.field:
            payload[self.settings.camera_from.field] = name
        await self.publish(topic, json.dumps(payload), retain=False)
