"""NVRs over MQTT (paho-mqtt 2.x): Frigate's topics as they are, and a generic JSON mapping.

The connection (credentials, TLS, subscriptions, reconnects with backoff) is
drivers.mqtt_session.MqttSubscriberDriver. Camera states are reported on change per camera; the
first state after start is reported too, because cameras count as not recording until an event
says otherwise.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict

from core_ext import vocab
from drivers.base import Emit, SettingsBase, WiringBase
from drivers.mqtt_session import MqttLinkWiring, MqttSubscriberDriver

CAMERA_STATES = vocab.CAMERA_STATES
if TYPE_CHECKING:  # mypy cannot read a Literal built at run time; pydantic can
    CameraState: TypeAlias = str
else:
    CameraState = vocab.one_of(vocab.CAMERA_STATES)


class MqttWiring(MqttLinkWiring):
    cameras: dict[str, str]  # the NVR's camera name -> camera id in events
    topic_prefix: str | None = None  # overrides the profile's

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        return [("camera", c) for c in self.cameras.values()]


class MqttNvrDriver(MqttSubscriberDriver):
    """Subclasses give `_topics()` and `_handle(topic, payload)`."""

    Wiring = MqttWiring
    client_prefix = "custody-nvr"

    def __init__(self, wiring: WiringBase, settings: SettingsBase, emit: Emit) -> None:
        super().__init__(wiring, settings, emit)
        self._camera_state: dict[str, str] = {}

    @property
    def _w(self) -> MqttWiring:
        return self.wiring  # type: ignore[return-value]

    def _camera(self, nvr_camera: str, state: str) -> None:
        camera = self._w.cameras.get(nvr_camera)
        if camera is None:
            self.health.frames_ignored += 1  # a camera this site does not wire: not an error, counted
            return
        if self._camera_state.get(camera) == state:
            return
        self._camera_state[camera] = state
        self._emit({"type": "camera", "camera": camera, "state": state})


class FrigateSettings(SettingsBase):
    topic_prefix: str = "frigate"
    record_status_role: str = "record"  # frigate/<camera>/status/<role>
    # What Frigate's words mean as camera events.
    recordings_state: dict[str, str] = {"ON": "recording", "OFF": "stopped"}
    record_status: dict[str, str] = {"online": "online", "offline": "offline", "disabled": "stopped"}
    available: dict[str, str] = {"online": "online", "offline": "offline", "stopped": "offline"}


class FrigateMqttDriver(MqttNvrDriver):
    Settings = FrigateSettings

    @property
    def _s(self) -> FrigateSettings:
        return self.settings  # type: ignore[return-value]

    @property
    def prefix(self) -> str:
        return self._w.topic_prefix or self._s.topic_prefix

    def _topics(self) -> list[str]:
        p = self.prefix
        return [f"{p}/available", f"{p}/+/recordings/state", f"{p}/+/status/{self._s.record_status_role}",
                f"{p}/events"]

    def _handle(self, topic: str, payload: bytes) -> None:
        levels = topic.split("/")
        p = self.prefix
        text = payload.decode("utf-8", errors="replace").strip()
        if topic == f"{p}/available":
            state = self._s.available.get(text)
            if state is None:
                self._frame_bad(f"{topic}: unknown availability", text)
                return
            self._frame_good()
            for nvr_camera in self._w.cameras:
                self._camera(nvr_camera, state)
        elif topic == f"{p}/events":
            self._check_event(topic, payload)
        elif len(levels) == 4 and levels[2:] == ["recordings", "state"]:
            self._map(topic, levels[1], text, self._s.recordings_state)
        elif len(levels) == 4 and levels[2] == "status":
            self._map(topic, levels[1], text, self._s.record_status)
        else:
            self._frame_bad("unexpected topic", topic)

    def _map(self, topic: str, nvr_camera: str, text: str, table: dict[str, str]) -> None:
        state = table.get(text)
        if state is None:
            self._frame_bad(f"{topic}: unknown value", text)
            return
        self._frame_good()
        self._camera(nvr_camera, state)

    def _check_event(self, topic: str, payload: bytes) -> None:
        """Detections do not change recording state; they are checked and counted as liveness."""
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            self._frame_bad(f"{topic}: not JSON ({exc})", payload)
            return
        if not isinstance(message, dict) or message.get("type") not in ("new", "update", "end") \
                or not isinstance(message.get("after"), dict) or "camera" not in message["after"]:
            self._frame_bad(f"{topic}: not a Frigate event envelope", payload)
            return
        self._frame_good()


class CameraFrom(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic_level: int | None = None  # index into the topic's levels
    field: str | None = None  # or a key of the JSON payload


class JsonNvrSettings(SettingsBase):
    topic: str  # subscription, may hold + and #
    camera_from: CameraFrom = CameraFrom(field="camera")
    state_field: str = "state"
    states: dict[str, CameraState]


class JsonMqttNvrDriver(MqttNvrDriver):
    """A bridge that publishes JSON like {"camera": "c1", "state": "REC"}; the profile maps it."""

    Settings = JsonNvrSettings

    def _topics(self) -> list[str]:
        return [self.settings.topic]  # type: ignore[attr-defined]

    def _handle(self, topic: str, payload: bytes) -> None:
        s: JsonNvrSettings = self.settings  # type: ignore[assignment]
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            self._frame_bad(f"{topic}: not JSON ({exc})", payload)
            return
        if not isinstance(message, dict):
            self._frame_bad(f"{topic}: JSON is not an object", payload)
            return
        nvr_camera: Any
        if s.camera_from.topic_level is not None:
            levels = topic.split("/")
            if s.camera_from.topic_level >= len(levels):
                self._frame_bad(f"{topic}: no topic level {s.camera_from.topic_level}", payload)
                return
            nvr_camera = levels[s.camera_from.topic_level]
        else:
            nvr_camera = message.get(s.camera_from.field or "camera")
        raw_state = message.get(s.state_field)
        state = s.states.get(str(raw_state)) if raw_state is not None else None
        if not isinstance(nvr_camera, str) or state is None:
            self._frame_bad(f"{topic}: no camera or unknown state", payload)
            return
        self._frame_good()
        self._camera(nvr_camera, state)
