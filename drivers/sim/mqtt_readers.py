"""Simulated fixed readers that publish their reads over MQTT in their profile's format
(Zebra IoT Connector, Impinj IoT Device Interface, a generic JSON bridge), on a real broker.

`apply({"type": "tag_seen", "reader": r, "tag": t, "rssi"?})` publishes the read as the vendor
reader (and antenna) that the wiring maps to reader id `r` would; `payload_for()` gives the bytes
without publishing, for benchmarks that publish themselves.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from drivers.mqtt_reader import (
    MqttReaderSettings,
    MqttReaderWiring,
    sim_message,
    sim_topic,
)
from drivers.sim.mqtt_publisher import MqttPublisherSim


class MqttReaderSim(MqttPublisherSim):
    def __init__(self, wiring: MqttReaderWiring, settings: MqttReaderSettings) -> None:
        super().__init__(wiring)
        self.settings = settings
        self.topic = wiring.topic or settings.topic
        # reader id -> (vendor reader name or None for "*", antenna or None)
        self.source: dict[str, tuple[str | None, int | None]] = {}
        for name, target in wiring.readers.items():
            vendor = None if name == "*" else name
            if isinstance(target, dict):
                for antenna, reader in target.items():
                    self.source.setdefault(reader, (vendor, antenna))
            else:
                self.source.setdefault(target, (vendor, None))
        self.keys = [("tag_seen", reader) for reader in self.source]
        self._event_num = 0

    def payload_for(self, event: dict[str, Any], now: datetime.datetime | None = None) -> tuple[str, bytes]:
        """(topic, payload) of one read as the vendor publishes it."""
        vendor, antenna = self.source[event["reader"]]
        if vendor is None and self.settings.reader_from is not None and self.settings.reader_from.field:
            vendor = "sim-reader"
        self._event_num += 1
        stamp = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="milliseconds")
        message = sim_message(self.settings, vendor, event["tag"], antenna, event.get("rssi"), stamp)
        if isinstance(message.get("data"), dict) and "eventNum" in message["data"]:
            message["data"]["eventNum"] = self._event_num
        topic = sim_topic(self.topic, self.settings, vendor)
        return topic, json.dumps(message, separators=(",", ":")).encode()

    async def apply(self, event: dict[str, Any]) -> None:
        topic, payload = self.payload_for(event)
        await self.publish(topic, payload, retain=False)
