"""A simulated NVR that publishes what Frigate (or a JSON bridge) publishes, on a real broker."""

from __future__ import annotations

import json
from typing import Any

from drivers.mqtt_nvr import FrigateSettings, JsonNvrSettings, MqttWiring
from drivers.sim.mqtt_publisher import MqttPublisherSim


class _NvrSim(MqttPublisherSim):
    def __init__(self, wiring: MqttWiring, will: tuple[str, str] | None = None) -> None:
        super().__init__(wiring, will)
        self.keys = [("camera", camera) for camera in wiring.cameras.values()]
        self._nvr_name = {camera: name for name, camera in wiring.cameras.items()}


class FrigateSim(_NvrSim):
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
        after = {
            "id": f"{nvr_camera}-1",
            "camera": nvr_camera,
            "label": label,
            "start_time": 0.0,
            "end_time": None,
            "has_clip": False,
            "has_snapshot": False,
            "current_zones": [],
            "entered_zones": [],
            "score": 0.8,
            "top_score": 0.8,
            "false_positive": False,
        }
        await self.publish(
            f"{self.prefix}/events", json.dumps({"type": kind, "before": after, "after": after}), retain=False
        )


class JsonNvrSim(_NvrSim):
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
