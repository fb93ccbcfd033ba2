"""Helpers for gateway tests: staff accounts, a logged-in desk client, an MQTT watcher."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.desk.staff import StaffStore

STAFF_PASSWORD = "desk-password-1"


def add_staff(data: Path) -> None:
    store = StaffStore(data)
    store.add("desk1", STAFF_PASSWORD, "desk")
    store.add("keeper1", STAFF_PASSWORD, "custodian")


class Desk:
    """A logged-in desk client (sync httpx, used from tests)."""

    def __init__(self, base_url: str, username: str = "desk1") -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10)
        response = self.client.post("/desk/v1/login", json={"username": username, "password": STAFF_PASSWORD})
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(path, json=body)

    def ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, body)
        assert response.status_code == 201, (path, body, response.status_code, response.text)
        return response.json()

    def health(self) -> dict[str, Any]:
        response = self.client.get("/desk/v1/health")
        response.raise_for_status()
        return response.json()


class MqttWatcher:
    """Subscribes to custody/# and keeps every message; waits are woken by arrivals."""

    def __init__(self, url: str, topic: str = "custody/#") -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watcher-{time.monotonic_ns()}")
        self.client.reconnect_delay_set(0.2, 1)

        def on_connect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe(topic, qos=1)

        def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
            with self._cond:
                self.messages.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))
                self._cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.connect_async(host, int(port))
        self.client.loop_start()

    def wait_for(
        self,
        predicate: Callable[[str, dict[str, Any]], bool],
        timeout: float = 10.0,
        start: int = 0,
        what: str = "message",
    ) -> tuple[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            index = start
            while True:
                while index < len(self.messages):
                    topic, payload, _ = self.messages[index]
                    if predicate(topic, payload):
                        return topic, payload
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout}s; got {self.messages[-20:]}")
                self._cond.wait(remaining)

    def count(self) -> int:
        with self._cond:
            return len(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
