"""RFID readers that publish their reads over MQTT, described by a profile (data, not code).

One driver reads every JSON format whose reads can be found by paths: Zebra's IoT Connector
tag data events (`data.idHex`, `data.antenna`, `data.peakRssi`), Impinj's IoT Device Interface
`tagInventoryEvent` (`epcHex`, `antennaPort`, `peakRssiCdbm`), and any bridge. A profile says

    topic          the subscription (may hold + and #; the wiring's `topic` overrides it)
    reader_from    where the vendor's reader name is: {topic_level: N} or {field: path}; absent:
                   all messages come from the one reader of this device
    records        path of a list of reads inside a message; absent: a message is one read, or a
                   JSON array of reads (IoT Connector batching)
    only_with      path that marks a tag read; records without it are other event kinds
                   (inventory status, heartbeats), counted as ignored, not as bad
    tag, antenna, rssi   paths inside a read; rssi is multiplied by rssi_scale (Impinj: centi-dBm,
                   0.01) and reported as whole dBm
    tag_pattern    what an upper-cased tag must match

Paths are dot-separated keys (`tagInventoryEvent.epcHex`); a number indexes a list.

The wiring maps the vendor's reader names to reader ids, per antenna where one fixed reader covers
several zones:

    readers: {fx9600-hall: {1: rdr-hall-n, 2: rdr-hall-s, 3: rdr-cell-1, 4: rdr-cell-2}}
    readers: {"*": rdr-entry}            # any reader name, all antennas

Reads from reader names or antennas the wiring does not list are counted as ignored. Every read is
emitted (the engine needs repeated reads). Subscriptions are QoS 1: a read the broker accepted is
redelivered if the gateway did not acknowledge it.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.base import Emit, SettingsBase, WiringBase
from drivers.mqtt_session import MqttLinkWiring, MqttSubscriberDriver

Path = tuple[str | int, ...]
_MISSING = object()


def compile_path(path: str) -> Path:
    if not path or any(not part for part in path.split(".")):
        raise ValueError(f"bad JSON path {path!r}: dot-separated keys, e.g. data.idHex")
    return tuple(int(part) if part.isdigit() else part for part in path.split("."))


def get_path(value: Any, path: Path) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or key >= len(value):
                return _MISSING
            value = value[key]
        else:
            if not isinstance(value, dict):
                return _MISSING
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
    return value


def getter(path: Path) -> Any:
    """`get_path` specialised for one path (reads are decoded at thousands a second)."""
    if len(path) == 1 and isinstance(path[0], str):
        key = path[0]
        return lambda value: value.get(key, _MISSING) if type(value) is dict else _MISSING
    if len(path) == 2 and isinstance(path[0], str) and isinstance(path[1], str):
        outer, inner = path

        def two(value: Any) -> Any:
            if type(value) is not dict:
                return _MISSING
            value = value.get(outer, _MISSING)
            return value.get(inner, _MISSING) if type(value) is dict else _MISSING
        return two
    return lambda value: get_path(value, path)


def set_path(target: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path` in nested dicts, creating the dicts on the way (for simulators)."""
    node: Any = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


class ReaderFrom(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic_level: int | None = None
    field: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ReaderFrom:
        if (self.topic_level is None) == (self.field is None):
            raise ValueError("give exactly one of topic_level and field")
        if self.field is not None:
            compile_path(self.field)
        return self


class MqttReaderSettings(SettingsBase):
    topic: str
    reader_from: ReaderFrom | None = None
    records: str | None = None
    only_with: str | None = None
    tag: str
    tag_pattern: str = "^[0-9A-F]{4,128}$"
    antenna: str | None = None
    rssi: str | None = None
    rssi_scale: float = 1.0
    # For the simulator: one read as the vendor publishes it (values at the paths are replaced),
    # and where it puts the time (ISO 8601).
    sim_message: dict[str, Any] = Field(default_factory=dict)
    sim_timestamp: str | None = None

    @field_validator("records", "only_with", "tag", "antenna", "rssi", "sim_timestamp")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            compile_path(value)
        return value

    @field_validator("tag_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class MqttReaderWiring(MqttLinkWiring):
    topic: str | None = None  # overrides the profile's subscription
    # vendor reader name ("*": any) -> reader id, or antenna port -> reader id
    readers: dict[str, str | dict[int, str]]

    @field_validator("readers")
    @classmethod
    def _some(cls, value: dict[str, str | dict[int, str]]) -> dict[str, str | dict[int, str]]:
        if not value:
            raise ValueError("map at least one vendor reader name (or \"*\") to a reader id")
        for name, target in value.items():
            if isinstance(target, dict) and not target:
                raise ValueError(f"reader {name!r}: map at least one antenna to a reader id")
        return value

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        refs: list[tuple[str, str]] = []
        for target in self.readers.values():
            ids = target.values() if isinstance(target, dict) else [target]
            refs.extend(("reader", r) for r in ids if ("reader", r) not in refs)
        return refs


class MqttReaderDriver(MqttSubscriberDriver):
    Wiring = MqttReaderWiring
    Settings = MqttReaderSettings
    client_prefix = "custody-rdr"

    def __init__(self, wiring: WiringBase, settings: SettingsBase, emit: Emit) -> None:
        super().__init__(wiring, settings, emit)
        s: MqttReaderSettings = settings  # type: ignore[assignment]
        w: MqttReaderWiring = wiring  # type: ignore[assignment]
        self.topic = w.topic or s.topic
        level = s.reader_from.topic_level if s.reader_from else None
        if level is not None and level >= len(self.topic.split("/")):
            raise ValueError(f"reader_from.topic_level {level} is beyond the topic {self.topic!r}")
        if s.antenna is None and any(isinstance(t, dict) for t in w.readers.values()):
            raise ValueError("readers map antennas but the profile format reports no antenna (settings.antenna unset)")
        if s.reader_from is None and set(w.readers) != {"*"}:
            raise ValueError("this format does not name the reader: map it as readers: {\"*\": <reader id>}")
        self._decoder = msgspec.json.Decoder()
        self._records = getter(compile_path(s.records)) if s.records else None
        self._only_with = getter(compile_path(s.only_with)) if s.only_with else None
        self._tag = getter(compile_path(s.tag))
        self._antenna = getter(compile_path(s.antenna)) if s.antenna else None
        self._rssi = getter(compile_path(s.rssi)) if s.rssi else None
        self._reader_level = level
        self._reader_field = getter(compile_path(s.reader_from.field)) if s.reader_from and s.reader_from.field else None
        self._tag_ok = re.compile(s.tag_pattern).fullmatch
        self._scale = s.rssi_scale
        self._readers = w.readers

    def _topics(self) -> list[str]:
        return [self.topic]

    def _handle(self, topic: str, payload: bytes) -> None:
        s: MqttReaderSettings = self.settings  # type: ignore[assignment]
        try:
            message = self._decoder.decode(payload)
        except msgspec.DecodeError as exc:
            self._frame_bad(f"{topic}: not JSON ({exc})", payload[:200])
            return
        name: Any = None
        if self._reader_level is not None:
            levels = topic.split("/")
            name = levels[self._reader_level] if self._reader_level < len(levels) else None
        if self._records is not None:
            if self._reader_field is not None:
                name = self._reader_field(message)
            records = self._records(message)
            if not isinstance(records, list):
                self._frame_bad(f"{topic}: no list of reads at {s.records}", payload[:200])
                return
        else:
            records = message if isinstance(message, list) else [message]
        for record in records:
            self._read(topic, record, name)

    def _read(self, topic: str, record: Any, name: Any) -> None:
        if not isinstance(record, dict):
            self._frame_bad(f"{topic}: a read is not a JSON object", repr(record)[:200])
            return
        if self._only_with is not None and self._only_with(record) is _MISSING:
            self.health.frames_ignored += 1  # another kind of event (status, heartbeat)
            return
        if self._reader_field is not None and self._records is None:
            name = self._reader_field(record)
        target = self._readers.get(name) if isinstance(name, str) else None
        if target is None:
            target = self._readers.get("*")
            if target is None:
                self.health.frames_ignored += 1  # a reader this site does not wire
                return
        tag = self._tag(record)
        if type(tag) is not str or not self._tag_ok(tag := tag.upper()):
            self._frame_bad(f"{topic}: no valid tag at {self.settings.tag}", repr(record)[:200])  # type: ignore[attr-defined]
            return
        if isinstance(target, dict):
            antenna = self._antenna(record) if self._antenna else _MISSING
            if type(antenna) is not int:
                self._frame_bad(f"{topic}: no antenna number in the read", repr(record)[:200])
                return
            reader = target.get(antenna)
            if reader is None:
                self.health.frames_ignored += 1  # an antenna this site does not wire
                return
        else:
            reader = target
        event: dict[str, Any] = {"type": "tag_seen", "reader": reader, "tag": tag}
        if self._rssi is not None:
            rssi = self._rssi(record)
            if rssi is not _MISSING:
                if type(rssi) not in (int, float):
                    self._frame_bad(f"{topic}: rssi is not a number", repr(record)[:200])
                    return
                event["rssi"] = round(rssi * self._scale)
        self._frame_good()
        self._emit(event)


def sim_message(settings: MqttReaderSettings, reader_name: str | None, tag: str, antenna: int | None,
                rssi: int | None, timestamp: str) -> dict[str, Any]:
    """One read in the profile's format (for simulators and benchmarks)."""
    record = copy.deepcopy(settings.sim_message)
    set_path(record, compile_path(settings.tag), tag)
    if settings.antenna and antenna is not None:
        set_path(record, compile_path(settings.antenna), antenna)
    if settings.rssi and rssi is not None:
        set_path(record, compile_path(settings.rssi), round(rssi / settings.rssi_scale))
    if settings.sim_timestamp:
        set_path(record, compile_path(settings.sim_timestamp), timestamp)
    envelope = record
    if settings.records:
        envelope = {}
        set_path(envelope, compile_path(settings.records), [record])
    if settings.reader_from and settings.reader_from.field and reader_name is not None:
        set_path(envelope, compile_path(settings.reader_from.field), reader_name)
    return envelope


def sim_topic(topic: str, settings: MqttReaderSettings, reader_name: str | None) -> str:
    """The topic a reader named `reader_name` publishes on, for a subscription `topic`."""
    levels = topic.split("/")
    level = settings.reader_from.topic_level if settings.reader_from else None
    out = []
    for i, part in enumerate(levels):
        if part in ("+", "#"):
            out.append(reader_name if (i == level and reader_name) else "sim")
        else:
            out.append(part)
    return "/".join(out)
